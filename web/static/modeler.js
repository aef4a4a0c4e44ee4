// The process owner's modeler page (templates/owner_version.html): bpmn-js Modeler with the bpmn-js properties panel
// and its Camunda 7 provider (all vendored, see web/vendor.json; camunda-bpmn-moddle keeps files Camunda Modeler
// compatible) opens one BPMN file of a deployed version. Above the panel, step settings write the attributes the
// engine reads (lane agency, camunda:dueDate as working_days(N), requiredRole, camunda:formKey); the form editor edits
// a form file's JSON Schema beside the server's drawing of it as the officer will see it. "Kiểm tra" sends the edited
// XML and edited forms to the server, which validates them with the version's other files and answers findings with
// element ids: listed below the diagram and marked on the elements; "Triển khai phiên bản mới" deploys them with the
// change note. Every text from the server or the process goes in through textContent or attributes, never innerHTML,
// except the form preview, which is the server's own escaped template. window.phoihopModeler is the Modeler (tests
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

  if (!window.BpmnJS || !window.BpmnJSPropertiesPanel) {
    app.dataset.ready = "error";
    say(text("Failed"), "error");
    return;
  }

  var modeler = null;
  var forms = {};  // the version's form files by name, as deployed
  var editedForms = {};  // those changed in the form editor (sent with validate and deploy)

  // bpmn-js's translate service: the properties panel's labels in Vietnamese where static/properties-panel-vi.js has
  // them, with bpmn-js's {placeholder} replacements.
  function translate(template, replacements) {
    var words = app.dataset.lang === "vi" && window.phoihopPanelVi ? window.phoihopPanelVi : {};
    var translated = Object.prototype.hasOwnProperty.call(words, template) ? words[template] : template;
    return translated.replace(/{([^}]+)}/g, function (whole, key) {
      return replacements && key in replacements ? replacements[key] : whole;
    });
  }

  function createModeler(camundaModdle) {
    var panel = window.BpmnJSPropertiesPanel;
    modeler = new window.BpmnJS({
      container: document.getElementById("modeler-canvas"),
      propertiesPanel: { parent: document.getElementById("properties-panel") },
      additionalModules: [
        panel.BpmnPropertiesPanelModule,
        panel.BpmnPropertiesProviderModule,
        panel.CamundaPlatformPropertiesProviderModule,
        { translate: ["value", translate] }
      ],
      moddleExtensions: { camunda: camundaModdle }
    });
    window.phoihopModeler = modeler;
    return modeler;
  }
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
      return { file: app.dataset.file, xml: result.xml, forms: editedForms };
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

  // --- step settings: what a process owner changes most, written into the same Camunda attributes the panel edits --
  var settings = document.getElementById("step-settings");
  var settingsElement = document.getElementById("step-settings-element");
  var settingsNone = document.getElementById("step-settings-none");
  var agencySelect = document.getElementById("setting-agency");
  var daysInput = document.getElementById("setting-days");
  var daysHelp = document.getElementById("setting-days-help");
  var daysHelpText = daysHelp.textContent;
  var leadBox = document.getElementById("setting-lead");
  var formSelect = document.getElementById("setting-form");
  var editFormButton = document.getElementById("edit-form-button");
  var WORKING_DAYS = /^\s*working_days\(\s*(\d+)\s*\)\s*$/;
  var current = null;  // the element the settings show

  function kindOf(element) {
    var type = element && element.businessObject ? element.businessObject.$type : "";
    return { "bpmn:Lane": "lane", "bpmn:UserTask": "userTask", "bpmn:StartEvent": "startEvent" }[type] || "";
  }

  function propertiesOf(bo) {  // the camunda:Properties of an element's extension elements (or null)
    var values = bo.extensionElements ? bo.extensionElements.get("values") : [];
    return values.filter(function (v) { return v.$type === "camunda:Properties"; })[0] || null;
  }

  function requiredRole(bo) {
    var properties = propertiesOf(bo);
    var found = properties ? properties.get("values").filter(function (p) { return p.name === "requiredRole"; }) : [];
    return found.length ? found[0].value : "";
  }

  function setRequiredRole(element, role) {
    var modeling = modeler.get("modeling");
    var moddle = modeler.get("moddle");
    var bo = element.businessObject;
    var extension = bo.extensionElements;
    if (!extension) {
      if (!role) {
        return;
      }
      extension = moddle.create("bpmn:ExtensionElements", { values: [] });
      modeling.updateProperties(element, { extensionElements: extension });
    }
    var properties = propertiesOf(bo);
    if (!properties) {
      if (!role) {
        return;
      }
      properties = moddle.create("camunda:Properties", { values: [] });
      properties.$parent = extension;
      modeling.updateModdleProperties(element, extension, { values: extension.get("values").concat([properties]) });
    }
    var others = properties.get("values").filter(function (p) { return p.name !== "requiredRole"; });
    if (role) {
      var property = moddle.create("camunda:Property", { name: "requiredRole", value: role });
      property.$parent = properties;
      others = others.concat([property]);
    }
    modeling.updateModdleProperties(element, properties, { values: others });
  }

  function formTitle(name) {
    try {
      var title = JSON.parse(editedForms[name] || forms[name] || "{}").title;
      return typeof title === "string" && title ? name + " — " + title : name;
    } catch (ignored) {
      return name;
    }
  }

  function fillFormOptions(selected) {
    while (formSelect.options.length > 1) {
      formSelect.remove(1);
    }
    var names = Object.keys(forms).concat(Object.keys(editedForms)).filter(function (name, index, all) {
      return all.indexOf(name) === index;
    }).sort();
    if (selected && names.indexOf(selected) < 0) {
      names.push(selected);  // a form key naming no file of the version: shown, validate reports it
    }
    names.forEach(function (name) {
      var option = document.createElement("option");
      option.value = name;
      option.textContent = formTitle(name);
      formSelect.append(option);
    });
    formSelect.value = selected || "";
  }

  function showSettings(element) {
    current = element && kindOf(element) ? element : null;
    var kind = current ? kindOf(current) : "";
    settings.dataset.kind = kind;
    settingsNone.hidden = !!kind;
    settingsElement.textContent = current ? (current.businessObject.name || current.id) : "";
    settings.querySelectorAll(".step-setting").forEach(function (block) {
      block.hidden = !kind || block.dataset.applies.split(" ").indexOf(kind) < 0;
    });
    if (!current) {
      return;
    }
    var bo = current.businessObject;
    if (kind === "lane") {
      var names = Array.prototype.map.call(agencySelect.options, function (o) { return o.value; });
      agencySelect.value = names.indexOf(bo.name || "") >= 0 ? bo.name : "";
    }
    if (kind === "userTask") {
      var due = bo.get("camunda:dueDate") || "";
      var days = WORKING_DAYS.exec(due);
      daysInput.value = days ? days[1] : "";
      daysInput.disabled = !!due && !days;
      daysHelp.textContent = daysInput.disabled ? text("DaysExpression", { expression: due }) : daysHelpText;
      leadBox.checked = requiredRole(bo) === "lead";
    }
    if (kind === "userTask" || kind === "startEvent") {
      fillFormOptions(bo.get("camunda:formKey") || "");
      editFormButton.disabled = !formSelect.value;
    }
  }

  agencySelect.addEventListener("change", function () {
    if (current && agencySelect.value) {
      modeler.get("modeling").updateLabel(current, agencySelect.value);
    }
  });
  daysInput.addEventListener("change", function () {
    if (!current || daysInput.disabled) {
      return;
    }
    var days = parseInt(daysInput.value, 10);
    var due = daysInput.value === "" ? undefined : "working_days(" + Math.max(1, days || 1) + ")";
    modeler.get("modeling").updateProperties(current, { "camunda:dueDate": due });
  });
  leadBox.addEventListener("change", function () {
    if (current) {
      setRequiredRole(current, leadBox.checked ? "lead" : "");
    }
  });
  formSelect.addEventListener("change", function () {
    if (current) {
      modeler.get("modeling").updateProperties(current, { "camunda:formKey": formSelect.value || undefined });
    }
  });

  // --- the form editor: the JSON Schema of a form file, with the officer's view of it drawn by the server ----------
  var editor = document.getElementById("form-editor");
  var editorName = document.getElementById("form-editor-name");
  var editorText = document.getElementById("form-editor-text");
  var preview = document.getElementById("form-preview");
  var previewError = document.getElementById("form-preview-error");
  var previewTimer = null;

  function showPreviewError(message) {
    previewError.textContent = message;
    previewError.hidden = !message;
    editor.dataset.preview = message ? "error" : "ok";
  }

  function drawPreview() {
    var name = editorName.textContent;
    var source = editorText.value;
    try {
      JSON.parse(source);
    } catch (error) {
      showPreviewError(text("NotJson", { message: error.message }));
      return Promise.resolve();
    }
    editor.dataset.preview = "loading";
    return post(app.dataset.previewUrl, { name: name, text: source }).then(function (answer) {
      if (editorText.value !== source) {
        return;  // typed on meanwhile: a newer preview is on its way
      }
      if (answer.ok && answer.data && answer.data.ok) {
        showPreviewError("");
        preview.innerHTML = answer.data.html;  // the server's own form template, every value escaped there
      } else if (answer.data && answer.data.title) {
        showPreviewError(answer.data.title + ": " + (answer.data.detail || ""));
      } else {
        showPreviewError(text("Error", { status: answer.status }));
      }
    });
  }

  function openFormEditor(name) {
    editorName.textContent = name;
    editorText.value = Object.prototype.hasOwnProperty.call(editedForms, name) ? editedForms[name] : (forms[name] || "");
    editor.hidden = false;
    drawPreview();
    editor.scrollIntoView({ block: "start" });
  }

  editFormButton.addEventListener("click", function () {
    if (formSelect.value) {
      openFormEditor(formSelect.value);
    }
  });
  editorText.addEventListener("input", function () {
    editedForms[editorName.textContent] = editorText.value;
    dirtyNote.textContent = text("Dirty");
    dirtyNote.hidden = false;
    clearTimeout(previewTimer);
    previewTimer = setTimeout(drawPreview, 300);
  });
  document.getElementById("form-editor-close").addEventListener("click", function () {
    editor.hidden = true;
  });

  validateButton.addEventListener("click", validate);
  deployButton.addEventListener("click", deploy);

  function json(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    });
  }

  var diagram = fetch(app.dataset.src, { credentials: "same-origin", headers: { Accept: "application/xml" } })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.text();
    });
  Promise.all([json(app.dataset.camundaModdle), diagram, json(app.dataset.formsUrl)])
    .then(function (loaded) {
      forms = loaded[2].forms || {};
      createModeler(loaded[0]);
      modeler.on("commandStack.changed", function () {
        dirtyNote.textContent = text("Dirty");
        dirtyNote.hidden = false;
        showSettings(current);
      });
      modeler.on("selection.changed", function (event) {
        showSettings(event.newSelection.length === 1 ? event.newSelection[0] : null);
      });
      return modeler.importXML(loaded[1]);
    })
    .then(function (result) {
      keepUnresolvedReferences(result.warnings);
      modeler.get("canvas").zoom("fit-viewport", "auto");
      showSettings(null);
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
