// The process owner's modeler page (templates/owner_version.html): bpmn-js Modeler (vendored, see web/vendor.json)
// opens one BPMN file of a deployed version; "Kiểm tra" sends the edited XML to the server, which validates it with
// the version's other files (DMN, forms) and answers findings with element ids: listed below the diagram and marked
// on the elements; "Triển khai phiên bản mới" deploys it with the change note. Every text from the server or the
// process goes in through textContent or attributes, never innerHTML. window.phoihopModeler is the Modeler (tests
// drive it through its API, e.g. modeling.updateLabel).
(function () {
  "use strict";
  var app = document.getElementById("modeler-app");
  if (!app) {
    return;
  }
  var statusLine = document.getElementById("modeler-status");
  var list = document.getElementById("findings");
  var empty = document.getElementById("findings-empty");
  var dirtyNote = document.getElementById("modeler-dirty");
  var noteInput = document.getElementById("change-note");
  var validateButton = document.getElementById("validate-button");
  var deployButton = document.getElementById("deploy-button");
  var diffLink = document.getElementById("diff-link");
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  var FINDING_OVERLAY = "ph-finding";

  function text(name, values) {
    var value = app.dataset["text" + name] || "";
    Object.keys(values || {}).forEach(function (key) {
      value = value.split("{" + key + "}").join(String(values[key]));
    });
    return value;
  }

  function say(message, kind) {
    statusLine.textContent = message;
    statusLine.className = "modeler-status" + (kind ? " modeler-status-" + kind : "");
  }

  function link(href, label, testId) {
    var anchor = document.createElement("a");
    anchor.href = href;
    anchor.textContent = label;
    anchor.className = "button small secondary";
    if (testId) {
      anchor.dataset.testid = testId;
    }
    return anchor;
  }

  if (!window.BpmnJS) {
    app.dataset.ready = "error";
    say(text("Failed"), "error");
    return;
  }

  var modeler = new window.BpmnJS({ container: document.getElementById("modeler-canvas") });
  window.phoihopModeler = modeler;
  var marked = [];

  function clearMarks() {
    var canvas = modeler.get("canvas");
    marked.forEach(function (mark) {
      canvas.removeMarker(mark.id, mark.cls);
    });
    marked = [];
    modeler.get("overlays").remove({ type: FINDING_OVERLAY });
  }

  function markFinding(finding) {
    var registry = modeler.get("elementRegistry");
    var element = finding.element_id ? registry.get(finding.element_id) : null;
    if (!element) {
      return false;
    }
    var cls = finding.severity === "error" ? "ph-finding-error" : "ph-finding-warning";
    modeler.get("canvas").addMarker(element, cls);
    marked.push({ id: element.id, cls: cls });
    if (element.waypoints) {  // a sequence flow: the marker colours it; overlays sit on shapes
      return true;
    }
    var badge = document.createElement("span");
    badge.className = "ph-finding-badge " + cls;
    badge.textContent = finding.severity === "error" ? "✖" : "!";
    badge.title = finding.message || "";
    modeler.get("overlays").add(element, FINDING_OVERLAY, { position: { top: -10, right: 10 }, html: badge });
    return true;
  }

  function focusElement(id) {
    var registry = modeler.get("elementRegistry");
    var canvas = modeler.get("canvas");
    var element = registry.get(id);
    if (!element) {
      return;
    }
    try {
      var root = canvas.findRoot(element);
      if (root && root !== canvas.getRootElement()) {
        canvas.setRootElement(root);
      }
      canvas.scrollToElement(element);
      modeler.get("selection").select(element);
    } catch (error) {
      if (window.console) {
        console.warn(error);
      }
    }
  }

  function showFindings(errors, warnings) {
    clearMarks();
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    var findings = (errors || []).concat(warnings || []);
    empty.hidden = findings.length > 0;
    findings.forEach(function (finding) {
      var item = document.createElement("li");
      item.className = "finding finding-" + finding.severity;
      item.dataset.severity = finding.severity;
      item.dataset.code = finding.code || "";
      item.dataset.elementId = finding.element_id || "";
      var severity = document.createElement("span");
      severity.className = "badge finding-severity";
      severity.textContent = text(finding.severity === "error" ? "SeverityError" : "SeverityWarning");
      var code = document.createElement("code");
      code.textContent = finding.code || "";
      var where = document.createElement("strong");
      where.textContent = finding.element_name || finding.element_id || finding.file || "";
      var message = document.createElement("span");
      message.className = "finding-message";
      message.textContent = finding.message || "";
      item.append(severity, " ", code, " ", where, " ", message);
      if (finding.line) {
        var line = document.createElement("small");
        line.className = "muted";
        line.textContent = " (" + text("Line", { n: finding.line }) + ")";
        item.append(line);
      }
      if (markFinding(finding)) {
        item.tabIndex = 0;
        item.classList.add("finding-on-diagram");
        item.addEventListener("click", function () { focusElement(finding.element_id); });
        item.addEventListener("keydown", function (event) {
          if (event.key === "Enter") {
            focusElement(finding.element_id);
          }
        });
      }
      list.append(item);
    });
  }

  // SpiffWorkflow reads a multi-instance's loopDataInputRef/loopDataOutputRef as the names of process variables
  // (agencies, reports), which are no element ids: bpmn-js reports them as unresolved references and would drop them
  // when saving. A stand-in element with that id keeps each one, so the saved XML refers to the same variable.
  function keepUnresolvedReferences(warnings) {
    var moddle = modeler.get("moddle");
    (warnings || []).forEach(function (warning) {
      var element = warning.element;
      if (!element || !element.$descriptor || typeof warning.value !== "string" || !warning.property ||
          String(warning.message).indexOf("unresolved reference") !== 0) {
        return;
      }
      var name = warning.property.split(":").pop();
      var descriptor = element.$descriptor.propertiesByName[name];
      if (descriptor && descriptor.isReference && !descriptor.isMany && !element.get(name)) {
        element.set(name, moddle.create("bpmn:DataInput", { id: warning.value }));
      }
    });
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.text().then(function (raw) {
        var data = null;
        try {
          data = JSON.parse(raw);
        } catch (ignored) {
          data = null;
        }
        return { status: response.status, ok: response.ok, data: data };
      });
    });
  }

  function edited() {
    return modeler.saveXML({ format: true }).then(function (result) {
      return { file: app.dataset.file, xml: result.xml };
    });
  }

  function busy(on) {
    validateButton.disabled = on;
    deployButton.disabled = on;
    app.dataset.busy = on ? "true" : "false";
  }

  function failed(answer) {
    if (answer.data && answer.data.title) {
      say(answer.data.title + ": " + (answer.data.detail || ""), "error");
      showFindings(answer.data.errors, answer.data.warnings);
    } else {
      say(text("Error", { status: answer.status }), "error");
    }
  }

  function validate() {
    busy(true);
    say(text("Checking"));
    return edited().then(function (body) {
      return post(app.dataset.validateUrl, body);
    }).then(function (answer) {
      if (!answer.ok || !answer.data) {
        app.dataset.result = "error";
        failed(answer);
        return;
      }
      var data = answer.data;
      showFindings(data.errors, data.warnings);
      app.dataset.result = data.ok ? "valid" : "invalid";
      if (data.ok) {
        say(text("Valid", { warnings: data.warnings.length }), "ok");
      } else {
        say(text("Invalid", { errors: data.errors.length, warnings: data.warnings.length }), "error");
      }
    }).catch(function (error) {
      app.dataset.result = "error";
      say(text("Error", { status: String(error) }), "error");
    }).then(function () { busy(false); });
  }

  function deploy() {
    busy(true);
    say(text("Deploying"));
    return edited().then(function (body) {
      body.change_note = noteInput.value;
      return post(app.dataset.deployUrl, body);
    }).then(function (answer) {
      if (!answer.ok || !answer.data || !answer.data.ok) {
        app.dataset.result = "refused";
        failed(answer);
        return;
      }
      var data = answer.data;
      showFindings([], data.warnings);
      if (!data.created) {
        app.dataset.result = "unchanged";
        say(text("Unchanged", { n: data.version }), "info");
        return;
      }
      app.dataset.result = "deployed";
      app.dataset.newVersion = String(data.version);
      var message = text("Deployed", { n: data.version, warnings: data.warnings.length });
      if (data.default_version) {
        message += " " + text("DefaultKept", { n: data.default_version });
      }
      say(message + " ", "ok");
      statusLine.append(link(data.url, text("OpenNew", { n: data.version }), "open-new-version"), " ",
                        link(data.diff_url, text("DiffNew"), "diff-new-version"));
      diffLink.href = data.diff_url;
      diffLink.hidden = false;
      dirtyNote.hidden = true;
    }).catch(function (error) {
      app.dataset.result = "error";
      say(text("Error", { status: String(error) }), "error");
    }).then(function () { busy(false); });
  }

  validateButton.addEventListener("click", validate);
  deployButton.addEventListener("click", deploy);
  modeler.on("commandStack.changed", function () {
    dirtyNote.textContent = text("Dirty");
    dirtyNote.hidden = false;
  });

  fetch(app.dataset.src, { credentials: "same-origin", headers: { Accept: "application/xml" } })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.text();
    })
    .then(function (xml) {
      return modeler.importXML(xml);
    })
    .then(function (result) {
      keepUnresolvedReferences(result.warnings);
      modeler.get("canvas").zoom("fit-viewport", "auto");
      app.dataset.ready = "true";
      say("");
    })
    .catch(function (error) {
      app.dataset.ready = "error";
      say(text("Failed"), "error");
      if (window.console) {
        console.error(error);
      }
    });
})();
