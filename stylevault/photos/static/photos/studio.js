// The upload form's live face check: the chosen file is shown, sent to /api/v1/photos/check
// (nothing is stored or paid there), and the faces found are drawn over it with the verdict.
(function () {
  "use strict";

  function draw(frame, result) {
    frame.querySelectorAll(".face-box").forEach(function (box) { box.remove(); });
    (result.faces || []).forEach(function (face) {
      var box = document.createElement("div");
      box.className = "face-box";
      box.style.left = (100 * face.box[0] / result.width) + "%";
      box.style.top = (100 * face.box[1] / result.height) + "%";
      box.style.width = (100 * face.box[2] / result.width) + "%";
      box.style.height = (100 * face.box[3] / result.height) + "%";
      frame.appendChild(box);
    });
  }

  function check(form, input) {
    var frame = form.querySelector("[data-role=face-preview]");
    var image = frame.querySelector("img");
    var verdict = form.querySelector("[data-role=face-verdict]");
    var file = input.files[0];
    if (!file) return;
    image.src = URL.createObjectURL(file);
    frame.hidden = false;
    verdict.textContent = verdict.dataset.checking;
    var body = new FormData();
    body.append("image", file);
    fetch(form.dataset.check, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value },
    })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var details = data.error ? data.error.details || {} : data;
        if (details.width) draw(frame, details);
        verdict.textContent = data.error ? data.error.message : verdict.dataset.ok;
        verdict.className = data.error ? "error" : "ok";
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-check]").forEach(function (form) {
      var input = form.querySelector("input[type=file]");
      input.addEventListener("change", function () { check(form, input); });
    });
  });
})();
