// phoihop web app: the CSRF token on every htmx request, and the rows of a form (an array of objects: "Thêm dòng"
// clones the row's <template>, "Xóa dòng" removes a row, a row's required fields are required only while something
// is typed in it: empty rows are left out on submit). Nothing here writes HTML: htmx swaps fragments the server
// rendered (autoescaped), and no data is ever put into innerHTML by our own code.
(function () {
  "use strict";
  var INDEX = "__INDEX__";
  var RENAMED = ["name", "id", "for", "aria-describedby", "data-field"];

  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) {
      event.detail.headers["X-CSRF-Token"] = meta.content;
    }
  });

  function filled(row) {
    var controls = row.querySelectorAll("input, select, textarea");
    for (var i = 0; i < controls.length; i++) {
      var control = controls[i];
      if (control.type === "radio" || control.type === "checkbox") {
        if (control.checked) { return true; }
      } else if (control.value.trim() !== "") {
        return true;
      }
    }
    return false;
  }

  function syncRequired(row) {
    var on = filled(row);
    var controls = row.querySelectorAll("[data-required]");
    for (var i = 0; i < controls.length; i++) {
      controls[i].required = on;
    }
  }

  function renumber(element, index) {
    var all = [element].concat(Array.prototype.slice.call(element.querySelectorAll("*")));
    all.forEach(function (node) {
      RENAMED.forEach(function (attribute) {
        var value = node.getAttribute(attribute);
        if (value && value.indexOf(INDEX) !== -1) {
          node.setAttribute(attribute, value.split(INDEX).join(String(index)));
        }
      });
    });
  }

  function addRow(rows) {
    var template = rows.querySelector("template[data-row-template]");
    var list = rows.querySelector("[data-row-list]");
    if (!template || !list || !template.content.firstElementChild) { return; }
    var index = parseInt(rows.getAttribute("data-next-index") || "0", 10);
    var row = template.content.firstElementChild.cloneNode(true);
    renumber(row, index);
    rows.setAttribute("data-next-index", String(index + 1));
    list.appendChild(row);
    var first = row.querySelector("input, select, textarea");
    if (first) { first.focus(); }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    var add = target.closest("[data-add-row]");
    if (add) {
      var rows = add.closest("[data-rows]");
      if (rows) { addRow(rows); }
      return;
    }
    var remove = target.closest("[data-remove-row]");
    if (remove) {
      var row = remove.closest("[data-row]");
      var owner = row && row.closest("[data-rows]");
      if (row) { row.remove(); }
      var next = owner && owner.querySelector("[data-add-row]");
      if (next) { next.focus(); }
    }
  });

  function onEdit(event) {
    var target = event.target;
    var row = target instanceof Element ? target.closest("[data-row]") : null;
    if (row) { syncRequired(row); }
  }
  document.addEventListener("input", onEdit);
  document.addEventListener("change", onEdit);

  function syncAll() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-row]"), syncRequired);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", syncAll);
  } else {
    syncAll();
  }
})();
