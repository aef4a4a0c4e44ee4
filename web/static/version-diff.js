// The diff page (templates/owner_diff.html): the two versions' diagrams side by side in bpmn-js NavigatedViewers,
// elements added, removed and changed marked by id (data-marks, rendered by the server). No HTML is written here.
(function () {
  "use strict";
  var status = document.getElementById("diff-diagram-status");
  var CLASSES = { added: "ph-diff-added", removed: "ph-diff-removed", changed: "ph-diff-changed" };

  function draw(container) {
    if (!container) {
      return;
    }
    if (!window.BpmnJS) {
      container.dataset.ready = "error";
      status.hidden = false;
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
        Object.keys(CLASSES).forEach(function (kind) {
          (marks[kind] || []).forEach(function (id) {
            if (registry.get(id)) {
              canvas.addMarker(id, CLASSES[kind]);
            }
          });
        });
        canvas.zoom("fit-viewport", "auto");
        container.dataset.ready = "true";
      })
      .catch(function (error) {
        container.dataset.ready = "error";
        status.hidden = false;
        if (window.console) {
          console.error(error);
        }
      });
  }

  draw(document.getElementById("diagram-from"));
  draw(document.getElementById("diagram-to"));
})();
