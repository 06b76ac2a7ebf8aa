// Frontend extension of the Deforum pack. Served at /extensions/<pack>/js/deforum.js,
// so the app module sits three folders up.
import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";
import {
  SCHEDULE_EDITOR, attachScheduleEditor, refreshScheduleEditors, reloadScheduleEditor,
  errorLine, onWidgetChange, renderContext, scheduleInputs, showSchedule,
} from "./schedule_editor.js";

const EXTENSION_NAME = "deforum.comfy";
const PROMPT_NODES = new Set(["DeforumPrompts", "DeforumPromptSchedule"]);
const VIDEO_NODES = new Set(["DeforumVideo"]);
const REPORT_NODES = new Set(["DeforumLoadSettings", "DeforumExportSettings", "DeforumVideoInput"]);
const LOOP_NODES = new Set(["DeforumAnimate"]);
const VIDEO_WIDGET = "deforum_video_preview";
const REPORT_WIDGET = "deforum_report";
const SUMMARY_WIDGET = "deforum_summary";
const SEED_WIDGET = "deforum_seed";
// Display widgets: shown in the node, never part of the prompt nor of widgets_values.
const DISPLAY_WIDGETS = new Set([VIDEO_WIDGET, REPORT_WIDGET, SUMMARY_WIDGET, SEED_WIDGET,
  SCHEDULE_EDITOR]);
const LINE_HEIGHT = 20;
const REPORT_HEIGHT = 180;
const REPORT_HEIGHTS = { DeforumVideoInput: 36 }; // one line: the frames it selected
const SETTINGS_FILE_TYPES = [".txt", ".json"];
const VIDEO_FILE_TYPES = [".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".gif"];
const AUDIO_FILE_TYPES = [".wav", ".mp3", ".flac", ".ogg", ".m4a", ".aac", ".opus", ".webm"];
// How many widgets the motion nodes had before their camera input was appended: a node saved
// then keeps the pinhole camera it rendered with (new nodes default to Deforum's camera).
const WIDGETS_BEFORE_CAMERA = { DeforumMotion2D: 13, DeforumMotion3D: 18 };
const VIDEO_MIN_HEIGHT = 160;
const DOM_MARGIN = 10; // the canvas keeps a DOM widget this far inside its row

// One line describing a prompt schedule.
function summarize(message) {
  const prompts = message?.prompts;
  if (Array.isArray(prompts) && prompts.length > 0) {
    return `${prompts.length} keyframed prompt${prompts.length === 1 ? "" : "s"}`;
  }
  return "";
}

// The /view address of an output file, built by the app's api so that a ComfyUI served
// under a sub-path (or the new frontend's /api prefix) is honoured.
function viewUrl(entry) {
  const query = new URLSearchParams({
    filename: entry.filename,
    subfolder: entry.subfolder ?? "",
    type: entry.type ?? "output",
  });
  query.set("rand", String(Math.random()));
  return api.apiURL(`/view?${query}`);
}

function createPreviewElement(format) {
  if (format === "gif") {
    const image = document.createElement("img");
    image.alt = "Deforum video";
    return image;
  }
  const video = document.createElement("video");
  Object.assign(video, { controls: true, loop: true, muted: true, autoplay: true });
  video.playsInline = true;
  video.setAttribute("muted", "");
  return video;
}

// The preview widget of a Deforum Video node: a <video> (or <img> for gif) in a DOM widget.
// It is display only: never part of the prompt nor of the workflow's widgets_values, whose
// positions are the node's public contract.
function showVideo(node, entry) {
  if (typeof node.addDOMWidget !== "function") return; // a frontend without DOM widgets
  const format = entry.format ?? entry.filename.split(".").pop();
  const tag = format === "gif" ? "IMG" : "VIDEO";
  const preview = createPreviewElement(format);
  const widget = displayWidget(node, VIDEO_WIDGET, "deforum-video-preview", preview, VIDEO_MIN_HEIGHT);
  previewArea(widget);
  if (widget.element.firstChild?.tagName !== tag) {
    widget.element.replaceChildren(preview);
  }
  const media = widget.element.firstChild;
  // laid over the area, so that its own shape never sizes the area (see previewArea)
  Object.assign(media.style, {
    position: "absolute", left: "0", top: "0", width: "100%", height: "100%",
    objectFit: "contain",
  });
  media.src = viewUrl(entry);
  node.setDirtyCanvas?.(true, true);
}

// The Video node's preview area: the room its node was made with, the same before and after
// a run. The canvas sizes the area itself; Nodes 2.0 sizes a DOM widget by its content, where
// a <video> as wide as the node would make it as tall as the video's shape (a square one grew
// the node over the one below it). So the media is laid over the area (absolute) and the area
// fills the node's room (widget-expands, as the frontend's own 3D viewer does), as tall as
// the canvas makes it at least (VIDEO_MIN_HEIGHT less its margins).
function previewArea(widget) {
  const style = widget.element.style;
  widget.element.classList.add("widget-expands");
  Object.assign(style, {
    display: "flex", justifyContent: "center", minHeight: `${VIDEO_MIN_HEIGHT - 2 * DOM_MARGIN}px`,
  });
  // the March 2024 canvas places and sizes the area itself (absolute): keep what it set
  style.position ||= "relative";
  style.height ||= "100%";
}

// "212 lines: 120 taken, 30 mapped, ..." over the report lines ("status   key: detail").
function reportHeadline(text) {
  const counts = new Map();
  const lines = text.split("\n").filter((line) => line.trim());
  for (const line of lines) {
    const status = line.split(/\s{2,}/)[0];
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  const parts = [...counts].map(([status, count]) => `${count} ${status}`);
  return `${lines.length} lines: ${parts.join(", ")}`;
}

// The import report of Deforum Load Settings (or what Export Settings wrote, or what Video
// Input selected), in the node.
function showReport(node, text) {
  if (typeof node.addDOMWidget !== "function" || typeof text !== "string") return;
  const view = document.createElement("pre");
  const height = REPORT_HEIGHTS[node.comfyClass] ?? REPORT_HEIGHT;
  const widget = displayWidget(node, REPORT_WIDGET, "deforum-report", view, height);
  const shown = widget.element.firstChild;
  Object.assign(shown.style, {
    margin: "0", height: "100%", overflow: "auto", whiteSpace: "pre", fontSize: "10px",
    fontFamily: "monospace", color: "#cde", background: "#1b1f24", padding: "4px",
  });
  const headline = node.comfyClass === "DeforumLoadSettings" ? `${reportHeadline(text)}\n\n` : "";
  shown.textContent = headline + text;
  node.deforumReport = text;
  node.setDirtyCanvas?.(true, true);
}

function addReport(nodeType) {
  const onExecuted = nodeType.prototype.onExecuted;
  nodeType.prototype.onExecuted = function (message) {
    onExecuted?.apply(this, arguments);
    showReport(this, message?.report?.[0]);
  };
  dropDisplayValues(nodeType);
}

// Nodes that take a file from ComfyUI's input folder by upload: the combo it fills, the file
// types it takes, and its menu entry.
const UPLOADS = {
  DeforumLoadSettings: {
    widget: "settings_file", types: SETTINGS_FILE_TYPES, label: "Upload settings file",
  },
  DeforumVideoInput: { widget: "video", types: VIDEO_FILE_TYPES, label: "Upload video" },
  DeforumAudioSchedule: { widget: "audio_file", types: AUDIO_FILE_TYPES, label: "Upload audio" },
};

function takes(upload, file) {
  const name = file?.name?.toLowerCase() ?? "";
  return upload.types.some((suffix) => name.endsWith(suffix));
}

// Upload into ComfyUI's input folder (the route its image upload button uses) and choose it.
async function uploadFile(node, upload, file) {
  const body = new FormData();
  body.append("image", file, file.name);
  body.append("overwrite", "true");
  const response = await api.fetchApi("/upload/image", { method: "POST", body });
  if (!response.ok) throw new Error(`upload of ${file.name} failed: ${response.status}`);
  const answer = await response.json();
  const name = answer.subfolder ? `${answer.subfolder}/${answer.name}` : answer.name;
  const combo = node.widgets?.find((w) => w.name === upload.widget);
  if (!combo) return name;
  const values = combo.options?.values;
  if (Array.isArray(values) && !values.includes(name)) values.push(name);
  combo.value = name;
  combo.callback?.(name);
  node.setDirtyCanvas?.(true, true);
  return name;
}

function chooseFile(node, upload) {
  const input = document.createElement("input");
  Object.assign(input, { type: "file", accept: upload.types.join(",") });
  input.style.display = "none";
  input.onchange = () => {
    if (input.files?.[0]) uploadFile(node, upload, input.files[0]).catch(console.warn);
    input.remove();
  };
  document.body.append(input);
  input.click();
}

// The node takes a file from its menu (the upload entry) or dropped on it; no button widget,
// as widgets are saved by position.
function addUpload(nodeType, upload) {
  const getExtraMenuOptions = nodeType.prototype.getExtraMenuOptions;
  nodeType.prototype.getExtraMenuOptions = function (canvas, options) {
    const result = getExtraMenuOptions?.apply(this, arguments);
    options.unshift({ content: upload.label, callback: () => chooseFile(this, upload) });
    return result;
  };
  nodeType.prototype.onDragOver = function (event) {
    return [...(event.dataTransfer?.items ?? [])].some((item) => item.kind === "file");
  };
  nodeType.prototype.onDragDrop = function (event) {
    const file = [...(event.dataTransfer?.files ?? [])].find((f) => takes(upload, f));
    if (!file) return false;
    uploadFile(this, upload, file).catch(console.warn);
    return true;
  };
  nodeType.prototype.deforumUpload = function (file) {
    return uploadFile(this, upload, file);
  };
}

// The preview's room is made when the node is made, so that a run does not grow the node
// over its neighbours.
function addVideoPreview(nodeType) {
  const onNodeCreated = nodeType.prototype.onNodeCreated;
  nodeType.prototype.onNodeCreated = function () {
    onNodeCreated?.apply(this, arguments);
    if (typeof this.addDOMWidget !== "function") return;
    const waiting = document.createElement("div");
    waiting.textContent = "the video shows here after a run";
    Object.assign(waiting.style, { color: "#678", font: "11px sans-serif", margin: "auto" });
    const widget = displayWidget(this, VIDEO_WIDGET, "deforum-video-preview", waiting,
      VIDEO_MIN_HEIGHT);
    previewArea(widget);
  };
  const onExecuted = nodeType.prototype.onExecuted;
  nodeType.prototype.onExecuted = function (message) {
    onExecuted?.apply(this, arguments);
    const entry = message?.deforum_video?.[0];
    if (entry?.filename) showVideo(this, entry);
  };

  dropDisplayValues(nodeType);
}

// The March 2024 frontend saves every widget's value by position; drop the display widgets'.
function dropDisplayValues(nodeType) {
  const onSerialize = nodeType.prototype.onSerialize;
  nodeType.prototype.onSerialize = function (data) {
    onSerialize?.apply(this, arguments);
    if (!Array.isArray(data?.widgets_values)) return;
    const widgets = this.widgets ?? [];
    for (let index = widgets.length - 1; index >= 0; index -= 1) {
      if (DISPLAY_WIDGETS.has(widgets[index].name) && index < data.widgets_values.length) {
        data.widgets_values.splice(index, 1);
      }
    }
  };
}

// A node loaded with a size saved before its display widgets grows to show them (the shipped
// workflows are laid out with room for them). Display widgets are made with the node, so
// that nothing grows later, over the node below, when a run or the server answers.
function fitContent(nodeType) {
  const onConfigure = nodeType.prototype.onConfigure;
  nodeType.prototype.onConfigure = function () {
    onConfigure?.apply(this, arguments);
    const needed = this.computeSize?.();
    if (needed && (needed[0] > this.size[0] || needed[1] > this.size[1])) {
      this.setSize?.([Math.max(this.size[0], needed[0]), Math.max(this.size[1], needed[1])]);
    }
  };
}

// A display-only DOM widget (see DISPLAY_WIDGETS), made once per node.
function displayWidget(node, name, className, element, minHeight) {
  let widget = node.widgets?.find((w) => w.name === name);
  if (widget) return widget;
  const container = document.createElement("div");
  container.className = className;
  container.append(element);
  widget = node.addDOMWidget(name, className, container, {
    serialize: false,
    hideOnZoom: false,
    getValue: () => undefined,
    setValue: () => {},
    getMinHeight: () => minHeight,
  });
  widget.serialize = false;
  widget.serializeValue = () => undefined;
  const needed = node.computeSize();
  node.setSize?.([Math.max(node.size[0], needed[0]), Math.max(node.size[1], needed[1] + minHeight)]);
  return widget;
}

const SUMMARY_ROUTE = "/deforum/schedule";
const SUMMARY_DELAY_MS = 250;

// A one-line display widget (see DISPLAY_WIDGETS): a DOM line, so that it shows in the Vue
// renderer too, which draws no canvas foreground.
function showLine(node, name, text, color = "#9ab") {
  if (typeof node.addDOMWidget !== "function") return;
  const line = document.createElement("div");
  const widget = displayWidget(node, name, name.replace(/_/g, "-"), line, LINE_HEIGHT);
  Object.assign(widget.element.firstChild.style, {
    font: "11px sans-serif", color, whiteSpace: "nowrap", overflow: "hidden",
    textOverflow: "ellipsis", lineHeight: `${LINE_HEIGHT}px`, padding: "0 4px",
    // the March 2024 canvas (its widgets have no margin setting) puts a DOM widget 10 px
    // inside its row however short the row: the line moves back up into its row, which
    // otherwise hangs below it (and below the node, when it is the last widget)
    marginTop: "margin" in widget ? "0" : `-${DOM_MARGIN}px`,
  });
  widget.element.firstChild.textContent = text;
  widget.element.firstChild.title = text;
}

// Kept on the instance only: the summary is not saved into the workflow.
function showSummary(node, answer) {
  const error = answer?.error;
  node.deforumSummary = error ? `⚠ ${errorLine(error)}` : summarize(answer);
  node.deforumSummaryError = error ?? null;
  showLine(node, SUMMARY_WIDGET, node.deforumSummary, error ? "#f99" : "#9ab");
}

function widgetValue(node, name, fallback) {
  const widget = node.widgets?.find((w) => w.name === name);
  return widget === undefined ? fallback : widget.value;
}

// What the route needs to summarize a prompts node as its widgets stand, over the frames
// of the Animate node it feeds.
function summaryRequest(node) {
  return {
    ...renderContext(node), kind: "prompts", text: widgetValue(node, "prompts", ""),
    positive: widgetValue(node, "positive", ""), negative: widgetValue(node, "negative", ""),
  };
}

async function requestSummary(node) {
  const request = summaryRequest(node);
  if (typeof request.text !== "string") return; // a linked text: known only when it runs
  try {
    const response = await api.fetchApi(SUMMARY_ROUTE, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(request),
    });
    if (response.ok) showSummary(node, await response.json());
  } catch {
    // the server is gone for a moment: the summary stays as it was
  }
}

// One request per pause in typing.
function scheduleSummary(node) {
  clearTimeout(node.deforumSummaryTimer);
  node.deforumSummaryTimer = setTimeout(() => requestSummary(node), SUMMARY_DELAY_MS);
}

// The prompts nodes ask the server for their summary whenever a widget changes (and when the
// node is created or loaded): they do not run on their own.
function addPromptSummary(nodeType) {
  const onNodeCreated = nodeType.prototype.onNodeCreated;
  nodeType.prototype.onNodeCreated = function () {
    onNodeCreated?.apply(this, arguments);
    showLine(this, SUMMARY_WIDGET, "");
    onWidgetChange(this, () => scheduleSummary(this));
    scheduleSummary(this);
  };
  const onConfigure = nodeType.prototype.onConfigure;
  nodeType.prototype.onConfigure = function () {
    onConfigure?.apply(this, arguments);
    scheduleSummary(this);
  };
}

// Nodes with schedule inputs get the schedule editor (web/js/schedule_editor.js).
function addScheduleEditor(nodeType, names) {
  const onNodeCreated = nodeType.prototype.onNodeCreated;
  nodeType.prototype.onNodeCreated = function () {
    onNodeCreated?.apply(this, arguments);
    attachScheduleEditor(this, names, displayWidget);
  };
  const onConfigure = nodeType.prototype.onConfigure;
  nodeType.prototype.onConfigure = function () {
    onConfigure?.apply(this, arguments);
    reloadScheduleEditor(this, names);
  };
  // A schedule linked to another node (Deforum Audio Schedule) or unlinked again.
  const onConnectionsChange = nodeType.prototype.onConnectionsChange;
  nodeType.prototype.onConnectionsChange = function (side, slot) {
    const result = onConnectionsChange?.apply(this, arguments);
    const name = side === (window.LiteGraph?.INPUT ?? 1) ? this.inputs?.[slot]?.name : null;
    if (names.includes(name)) showSchedule(this, name);
    return result;
  };
}

// Deforum Animate shows the seed it rendered with (base_seed -1 draws one on every queue),
// and the schedule editors of the nodes feeding it follow its frame count, fps and seed.
function addSeedLine(nodeType) {
  const onExecuted = nodeType.prototype.onExecuted;
  nodeType.prototype.onExecuted = function (message) {
    onExecuted?.apply(this, arguments);
    const seed = message?.seed?.[0];
    if (seed !== undefined) showLine(this, SEED_WIDGET, `rendered with seed ${seed}`);
  };
  const onNodeCreated = nodeType.prototype.onNodeCreated;
  nodeType.prototype.onNodeCreated = function () {
    onNodeCreated?.apply(this, arguments);
    showLine(this, SEED_WIDGET, "the seed shows here after a run");
    onWidgetChange(this, () => refreshScheduleEditors(this.graph ?? app.graph),
      ["max_frames", "fps", "base_seed"]);
  };
}

function keepSavedCamera(nodeType, count) {
  const onConfigure = nodeType.prototype.onConfigure;
  nodeType.prototype.onConfigure = function (info) {
    onConfigure?.apply(this, arguments);
    if (!Array.isArray(info?.widgets_values) || info.widgets_values.length !== count) return;
    const camera = this.widgets?.find((w) => w.name === "camera");
    if (camera) camera.value = "pinhole";
  };
}

// Deforum Animate sends a progress preview with every frame; once it has run, its own ui
// "images" (the last frame, saved in the run folder) replace them, instead of the frontend
// showing the last progress preview beside the same frame.
function dropProgressPreview(nodeType) {
  const onExecuted = nodeType.prototype.onExecuted;
  nodeType.prototype.onExecuted = function (message) {
    onExecuted?.apply(this, arguments);
    if (message?.images?.length) dropPreviews(String(this.id));
  };
}

// The pages draw previews from app.nodePreviewImages; Nodes 2.0 on the late-2025 page also
// from its node-output store, which only sees a change made through the store itself.
function dropPreviews(id) {
  try {
    const urls = app.nodePreviewImages?.[id] ?? [];
    delete app.nodePreviewImages?.[id];
    const pinia = document.querySelector("#vue-app")?.__vue_app__?.config?.globalProperties?.$pinia;
    const previews = pinia?._s?.get("nodeOutput")?.nodePreviewImages;
    if (previews && id in previews) delete previews[id];
    for (const url of urls) if (String(url).startsWith("blob:")) URL.revokeObjectURL(url);
  } catch {
    // a frontend that keeps previews elsewhere manages them itself
  }
}

app.registerExtension({
  name: EXTENSION_NAME,
  async setup() {
    window.__deforumExtensionLoaded = true;
  },
  async beforeRegisterNodeDef(nodeType, nodeData) {
    const name = nodeData?.name;
    if (VIDEO_NODES.has(name)) addVideoPreview(nodeType);
    if (REPORT_NODES.has(name)) addReport(nodeType);
    const upload = UPLOADS[name];
    if (upload) addUpload(nodeType, upload);
    if (LOOP_NODES.has(name)) {
      dropProgressPreview(nodeType);
      addSeedLine(nodeType);
    }
    const before = WIDGETS_BEFORE_CAMERA[name];
    if (before !== undefined) keepSavedCamera(nodeType, before);
    const schedules = scheduleInputs(nodeData);
    if (schedules.length) addScheduleEditor(nodeType, schedules);
    if (PROMPT_NODES.has(name)) addPromptSummary(nodeType);
    const shows = schedules.length > 0 || PROMPT_NODES.has(name) || LOOP_NODES.has(name);
    if (shows) dropDisplayValues(nodeType); // the video and report nodes drop theirs already
    if (shows || VIDEO_NODES.has(name) || REPORT_NODES.has(name)) fitContent(nodeType);
  },
});
