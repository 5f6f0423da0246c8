// Training images for a new style: a drop zone, thumbnails each with a caption, and an upload
// with a progress bar. Without this script the plain multiple file input and the submit button
// send the same form; the server checks every file either way.
(function () {
  "use strict";

  function setup(form) {
    var zone = form.querySelector("[data-dropzone]");
    var thumbs = zone.querySelector("[data-thumbs]");
    var status = form.querySelector("[data-upload-status]");
    var bar = form.querySelector("[data-upload-progress]");
    var percent = form.querySelector("[data-upload-percent]");
    var button = form.querySelector("button[type=submit]");
    var items = []; // {file, caption}

    function recount() {
      zone.querySelector("[data-count]").textContent = String(items.length);
    }

    function thumbnail(file) {
      var item = { file: file, caption: document.createElement("input") };
      var li = document.createElement("li");
      var img = document.createElement("img");
      var name = document.createElement("span");
      var remove = document.createElement("button");
      img.src = URL.createObjectURL(file);
      img.alt = file.name;
      name.textContent = file.name;
      item.caption.type = "text";
      item.caption.maxLength = 300;
      item.caption.placeholder = zone.dataset.captionLabel;
      item.caption.setAttribute("aria-label", zone.dataset.captionLabel + ": " + file.name);
      remove.type = "button";
      remove.className = "link danger";
      remove.textContent = zone.dataset.removeLabel;
      remove.addEventListener("click", function () {
        items.splice(items.indexOf(item), 1);
        URL.revokeObjectURL(img.src);
        li.remove();
        recount();
      });
      li.append(img, name, item.caption, remove);
      thumbs.append(li);
      items.push(item);
    }

    function add(files) {
      Array.prototype.forEach.call(files, thumbnail);
      recount();
    }

    // The file input stays as a "choose files" button: what it picks joins the list.
    form.addEventListener("change", function (event) {
      if (event.target.name !== "images") return;
      add(event.target.files);
      event.target.value = "";
    });
    zone.addEventListener("dragover", function (event) {
      event.preventDefault();
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", function () {
      zone.classList.remove("over");
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("over");
      add(event.dataTransfer.files);
    });

    function showErrors(html) {
      // The server answers a refused form with the page and its errors: show its fields.
      var fresh = new DOMParser()
        .parseFromString(html, "text/html")
        .getElementById("style-form-body");
      if (fresh) {
        form.querySelector("#style-form-body").replaceWith(fresh);
        fresh.scrollIntoView();
      } else {
        window.alert(zone.dataset.failedLabel);
      }
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      data.delete("images");
      data.delete("captions");
      items.forEach(function (item) {
        data.append("images", item.file, item.file.name);
        data.append("captions", item.caption.value);
      });
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.upload.addEventListener("progress", function (progress) {
        if (!progress.lengthComputable) return;
        bar.value = Math.round((100 * progress.loaded) / progress.total);
        percent.textContent = bar.value + "%";
      });
      xhr.addEventListener("load", function () {
        button.disabled = false;
        status.hidden = true;
        if (xhr.status >= 200 && xhr.status < 300) {
          window.location.assign(xhr.responseURL); // created: the style's page
        } else {
          showErrors(xhr.responseText);
        }
      });
      xhr.addEventListener("error", function () {
        button.disabled = false;
        status.hidden = true;
        window.alert(zone.dataset.failedLabel);
      });
      button.disabled = true;
      status.hidden = false;
      bar.value = 0;
      xhr.send(data);
    });

    zone.hidden = false;
  }

  document.querySelectorAll("form[data-upload]").forEach(setup);
})();
