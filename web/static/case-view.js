// The case view's diagram: bpmn-js NavigatedViewer (vendored, see web/vendor.json) draws the instance's BPMN and
// marks the elements done, waiting and overdue. Texts come from data-* attributes and go in via textContent only.
(function () {
  "use strict";
  var container = document.getElementById("diagram");
  var status = document.getElementById("diagram-status");
  if (!container) {
    return;
  }
  function failed(error) {
    container.dataset.ready = "error";
    if (status) {
      status.textContent = container.dataset.failedText || "";
      status.hidden = false;
    }
    if (window.console) {
      console.error(error);
    }
  }
  if (!window.BpmnJS) {
    failed(new Error("bpmn-js is not loaded"));
    return;
  }
  var marks = JSON.parse(container.dataset.marks || "{}");
  var viewer = new window.BpmnJS({ container: container });
  fetch(container.dataset.src, { credentials: "same-origin", headers: { Accept: "application/xml" } })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.text();
    })
    .then(function (xml) {
      return viewer.importXML(xml);
    })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      var classes = { completed: "ph-completed", active: "ph-active", warning: "ph-warning", overdue: "ph-overdue" };
      Object.keys(classes).forEach(function (kind) {
        (marks[kind] || []).forEach(function (id) {
          if (registry.get(id)) {
            canvas.addMarker(id, classes[kind]);
          }
        });
      });
      canvas.zoom("fit-viewport", "auto");
      container.dataset.ready = "true";
      if (status) {
        status.hidden = true;
      }
    })
    .catch(failed);
})();
