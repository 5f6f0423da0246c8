// Live progress of generations: every panel marked [data-generation] follows its Server-Sent
// Events stream (the session cookie authenticates it), shows step / total and the growing
// preview, and when the final `status` event arrives swaps in the server-rendered panel
// (images, or the error in the reader's language).
(function () {
  "use strict";

  function refresh(panel) {
    if (!panel.isConnected) return;
    if (window.htmx) {
      window.htmx.ajax("GET", panel.dataset.panel, { target: panel, swap: "outerHTML" });
    } else {
      window.location.reload();
    }
  }

  function follow(panel) {
    if (panel.dataset.following) return;
    panel.dataset.following = "1";
    var bar = panel.querySelector("[data-role=bar]");
    var steps = panel.querySelector("[data-role=steps]");
    var preview = panel.querySelector("[data-role=preview]");
    var source = new EventSource(panel.dataset.events);
    source.addEventListener("progress", function (event) {
      if (!panel.isConnected) {
        source.close();
        return;
      }
      var data = JSON.parse(event.data);
      bar.max = data.total;
      bar.value = data.step;
      steps.textContent = data.step + " / " + data.total;
      if (data.preview) {
        preview.src = data.preview;
        preview.hidden = false;
      }
    });
    source.addEventListener("status", function () {
      source.close();
      refresh(panel);
    });
  }

  function scan(root) {
    if (root.matches && root.matches("[data-generation]")) follow(root);
    if (root.querySelectorAll) root.querySelectorAll("[data-generation]").forEach(follow);
  }

  if (window.htmx) {
    window.htmx.onLoad(scan); // the page itself, then every panel htmx inserts
  } else {
    document.addEventListener("DOMContentLoaded", function () {
      scan(document);
    });
  }
})();
