// The diff page (templates/owner_diff.html): the two versions' diagrams side by side (bpmn-diagram.js draws them),
// elements added, removed and changed marked by id (data-marks, rendered by the server). No HTML is written here.
(function () {
  "use strict";
  var status = document.getElementById("diff-diagram-status");
  var CLASSES = { added: "ph-diff-added", removed: "ph-diff-removed", changed: "ph-diff-changed" };

  function draw(container) {
    if (!container) {
      return;
    }
    if (!window.phoihopDiagram) {
      container.dataset.ready = "error";
      status.hidden = false;
      return;
    }
    window.phoihopDiagram(container, CLASSES)
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
