// Frontend extension of the Deforum pack. Served at /extensions/<pack>/js/deforum.js,
// so the app module sits three folders up.
import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";

const EXTENSION_NAME = "deforum.comfy";
const SUMMARY_NODES = new Set(["DeforumSchedule", "DeforumPromptSchedule"]);
const VIDEO_NODES = new Set(["DeforumVideo"]);
const LOOP_NODES = new Set(["DeforumAnimate"]);
const VIDEO_WIDGET = "deforum_video_preview";
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
  const inputRows = node.inputs?.length ?? 0;
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
    if (!SUMMARY_NODES.has(nodeData?.name)) return;

    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (message) {
      onExecuted?.apply(this, arguments);
      // Kept on the instance only: the summary is not saved into the workflow.
      this.deforumSummary = summarize(message);
      this.setDirtyCanvas?.(true, false);
    };

    const onDrawForeground = nodeType.prototype.onDrawForeground;
    nodeType.prototype.onDrawForeground = function (ctx) {
      onDrawForeground?.apply(this, arguments);
      if (!this.deforumSummary || this.flags?.collapsed) return;
      drawSummary(ctx, this, this.deforumSummary);
    };
  },
});
