// One diagram in a bpmn-js NavigatedViewer (vendored, see web/vendor.json): fetch the BPMN from the container's
// data-src, import it, mark element ids from data-marks ({kind: [ids]}) with classes[kind], fit it, and set
// data-ready="true". Shared by the case view and the version diff. No HTML is written here.
(function () {
  "use strict";
  window.phoihopDiagram = function (container, classes) {
    if (!window.BpmnJS) {
      return Promise.reject(new Error("bpmn-js is not loaded"));
    }
    var marks = JSON.parse(container.dataset.marks || "{}");
    var viewer = new window.BpmnJS({ container: container });
    return fetch(container.dataset.src, { credentials: "same-origin", headers: { Accept: "application/xml" } })
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
        Object.keys(classes).forEach(function (kind) {
          (marks[kind] || []).forEach(function (id) {
            if (registry.get(id)) {
              canvas.addMarker(id, classes[kind]);
            }
          });
        });
        canvas.zoom("fit-viewport", "auto");
        container.dataset.ready = "true";
        return viewer;
      });
  };
})();
