// The case view's diagram (bpmn-diagram.js draws it): the instance's BPMN with the elements done, waiting and
// overdue marked. Texts come from data-* attributes and go in via textContent only.
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
  if (!window.phoihopDiagram) {
    failed(new Error("bpmn-diagram.js is not loaded"));
    return;
  }
  var classes = { completed: "ph-completed", active: "ph-active", warning: "ph-warning", overdue: "ph-overdue" };
  window.phoihopDiagram(container, classes)
    .then(function () {
      if (status) {
        status.hidden = true;
      }
    })
    .catch(failed);
})();
