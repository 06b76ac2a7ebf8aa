// Frontend extension of the Deforum pack. Served at /extensions/<pack>/js/deforum.js,
// so the app module sits three folders up.
import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";

const EXTENSION_NAME = "deforum.comfy";
const SUMMARY_NODES = new Set(["DeforumSchedule", "DeforumPromptSchedule"]);
const VIDEO_NODES = new Set(["DeforumVideo"]);
const LOOP_NODES = new Set(["DeforumAnimate"]);
const VIDEO_WIDGET = "deforum_video_preview";
// How many widgets the motion nodes had before their camera input was appended: a node saved
// then keeps the pinhole camera it rendered with (new nodes default to Deforum's camera).
const WIDGETS_BEFORE_CAMERA = { DeforumMotion2D: 13, DeforumMotion3D: 18 };
const VIDEO_MIN_HEIGHT = 160;

function formatNumber(value) {
  return Number(value).toPrecision(4).replace(/\.?0+$/, "");
}

// One line describing what the node computed on its last run.
function summarize(message) {
  const values = message?.values;
  if (Array.isArray(values) && values.length > 0) {
    let min = Infinity;
    let max = -Infinity;
    for (const value of values) {
      min = Math.min(min, value);
      max = Math.max(max, value);
    }
    return `${values.length} frames: ${formatNumber(values[0])} → ${formatNumber(values[values.length - 1])} (min ${formatNumber(min)}, max ${formatNumber(max)})`;
  }
  const prompts = message?.prompts;
  if (Array.isArray(prompts) && prompts.length > 0) {
    return `${prompts.length} keyframed prompt${prompts.length === 1 ? "" : "s"}`;
  }
  return "";
}

// Where the summary goes: the free left half of the output rows when the node has more
// output rows than input rows (widgets start below the slot rows), else under the node.
function drawSummary(ctx, node, text) {
  const slotHeight = window.LiteGraph?.NODE_SLOT_HEIGHT ?? 20;
  // sockets only: the late-2025 frontend also lists every widget as an input
  const inputRows = node.inputs?.filter((input) => !input.widget).length ?? 0;
  const outputRows = node.outputs?.length ?? 0;
  const besideOutputs = inputRows < outputRows;
  const y = besideOutputs ? (inputRows + 0.5) * slotHeight + 4 : node.size[1] + 14;
  const maxWidth = besideOutputs ? node.size[0] - 100 : node.size[0];
  ctx.save();
  ctx.font = "11px sans-serif";
  ctx.fillStyle = "#9ab";
  ctx.textAlign = "left";
  let shown = text;
  while (shown.length > 1 && ctx.measureText(shown).width > maxWidth) {
    shown = `${shown.slice(0, -2)}…`;
  }
  ctx.fillText(shown, 10, y);
  ctx.restore();
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
  let widget = node.widgets?.find((w) => w.name === VIDEO_WIDGET);
  if (widget && widget.element?.firstChild?.tagName !== tag) {
    widget.element.replaceChildren(createPreviewElement(format));
  }
  if (!widget) {
    const container = document.createElement("div");
    container.className = "deforum-video-preview";
    Object.assign(container.style, { display: "flex", justifyContent: "center" });
    container.append(createPreviewElement(format));
    widget = node.addDOMWidget(VIDEO_WIDGET, "deforum-video", container, {
      serialize: false,
      hideOnZoom: false,
      getValue: () => undefined,
      setValue: () => {},
      getMinHeight: () => VIDEO_MIN_HEIGHT,
    });
    widget.serialize = false;
    widget.serializeValue = () => undefined;
    const needed = node.computeSize();
    node.setSize?.([
      Math.max(node.size[0], needed[0]),
      Math.max(node.size[1], needed[1] + VIDEO_MIN_HEIGHT),
    ]);
  }
  const media = widget.element.firstChild;
  Object.assign(media.style, { width: "100%", height: "100%", objectFit: "contain" });
  media.src = viewUrl(entry);
  node.setDirtyCanvas?.(true, true);
}

function addVideoPreview(nodeType) {
  const onExecuted = nodeType.prototype.onExecuted;
  nodeType.prototype.onExecuted = function (message) {
    onExecuted?.apply(this, arguments);
    const entry = message?.deforum_video?.[0];
    if (entry?.filename) showVideo(this, entry);
  };

  // The March 2024 frontend saves every widget's value by position; drop the preview's.
  const onSerialize = nodeType.prototype.onSerialize;
  nodeType.prototype.onSerialize = function (data) {
    onSerialize?.apply(this, arguments);
    const index = this.widgets?.findIndex((w) => w.name === VIDEO_WIDGET) ?? -1;
    if (index >= 0 && Array.isArray(data?.widgets_values) && data.widgets_values.length > index) {
      data.widgets_values.splice(index, 1);
    }
  };
}

const SUMMARY_ROUTE = "/deforum/schedule";
const SUMMARY_DELAY_MS = 250;

// Kept on the instance only: the summary is not saved into the workflow.
function showSummary(node, answer) {
  node.deforumSummary = answer?.error ? `⚠ ${answer.error.split("\n")[0]}` : summarize(answer);
  node.deforumSummaryError = answer?.error ?? null;
  node.setDirtyCanvas?.(true, false);
}

function widgetValue(node, name, fallback) {
  const widget = node.widgets?.find((w) => w.name === name);
  return widget === undefined ? fallback : widget.value;
}

// What the route needs to summarize the node as its widgets stand.
function summaryRequest(node) {
  const common = {
    max_frames: widgetValue(node, "max_frames", 120),
    s_value: widgetValue(node, "s_value", 0),
    fps: widgetValue(node, "fps", 15),
  };
  if (node.type === "DeforumSchedule" || node.comfyClass === "DeforumSchedule") {
    return {
      ...common, kind: "schedule", text: widgetValue(node, "schedule", ""),
      name: widgetValue(node, "name", "value"),
      interpolation: widgetValue(node, "interpolation", "linear"),
    };
  }
  return {
    ...common, kind: "prompts", text: widgetValue(node, "prompts", ""),
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
    if (!message?.images?.length) return;
    try {
      delete app.nodePreviewImages?.[String(this.id)];
    } catch {
      // a frontend that keeps previews elsewhere manages them itself
    }
  };
}

app.registerExtension({
  name: EXTENSION_NAME,
  async setup() {
    window.__deforumExtensionLoaded = true;
  },
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (VIDEO_NODES.has(nodeData?.name)) addVideoPreview(nodeType);
    if (LOOP_NODES.has(nodeData?.name)) dropProgressPreview(nodeType);
    const before = WIDGETS_BEFORE_CAMERA[nodeData?.name];
    if (before !== undefined) keepSavedCamera(nodeType, before);
    if (!SUMMARY_NODES.has(nodeData?.name)) return;

    // The summary is asked of the server whenever a widget changes (and when the node is
    // created or loaded): the schedule nodes do not run on their own.
    const onNodeCreated = nodeType.prototype.onNodeCreated;
    nodeType.prototype.onNodeCreated = function () {
      onNodeCreated?.apply(this, arguments);
      for (const widget of this.widgets ?? []) {
        const callback = widget.callback;
        widget.callback = (...args) => {
          const result = callback?.apply(widget, args);
          scheduleSummary(this);
          return result;
        };
      }
      scheduleSummary(this);
    };

    const onConfigure = nodeType.prototype.onConfigure;
    nodeType.prototype.onConfigure = function () {
      onConfigure?.apply(this, arguments);
      scheduleSummary(this);
    };

    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      onExecuted?.apply(this, arguments);
      showSummary(this, message);
    };

    const onDrawForeground = nodeType.prototype.onDrawForeground;
    nodeType.prototype.onDrawForeground = function (ctx) {
      onDrawForeground?.apply(this, arguments);
      if (!this.deforumSummary || this.flags?.collapsed) return;
      drawSummary(ctx, this, this.deforumSummary);
    };
  },
});
