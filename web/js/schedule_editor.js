// The schedule editor of the Deforum pack: one display widget per node with schedule inputs,
// showing the whole text of the schedule being edited, its curve over the render's frames
// (key frames marked) and, for a typo, the server's error with a caret under the problem.
// It is a DOM widget, so it works on the LiteGraph canvas and in the Vue renderer (Nodes 2.0),
// and display only: the schedule widgets keep their values, and their positions in the
// workflow.
import { api } from "../../../scripts/api.js";

export const SCHEDULE_EDITOR = "deforum_schedule_editor";
const ROUTE = "/deforum/schedule";
const DELAY_MS = 250;
const EDITOR_HEIGHT = 150;
const CURVE_HEIGHT = 56;
const LOOP_NODE = "DeforumAnimate";
// What a schedule is evaluated with when the node neither has the input nor feeds an Animate.
const FALLBACK = { max_frames: 120, fps: 15, seed: 0 };

function widgetNamed(node, name) {
  return node.widgets?.find((w) => w.name === name);
}

// The names of the node's schedule inputs, as its definition marks them (nodes/widgets.py).
export function scheduleInputs(nodeData) {
  const sections = [nodeData?.input?.required ?? {}, nodeData?.input?.optional ?? {}];
  return sections.flatMap((section) =>
    Object.entries(section)
      .filter(([, spec]) => spec?.[1]?.deforum_schedule === true)
      .map(([name]) => name),
  );
}

// The Deforum Animate node this node's outputs reach (directly or through other nodes).
function animateBelow(node, seen = new Set()) {
  if (!node || seen.has(node.id)) return null;
  seen.add(node.id);
  if ((node.comfyClass ?? node.type) === LOOP_NODE) return node;
  const graph = node.graph ?? window.app?.graph;
  for (const output of node.outputs ?? []) {
    for (const linkId of output.links ?? []) {
      const link = graph?.links?.[linkId] ?? graph?.links?.get?.(linkId);
      const found = animateBelow(graph?.getNodeById(link?.target_id), seen);
      if (found) return found;
    }
  }
  return null;
}

// Frame count, fps and seed as the render will use them: the node's own inputs, else those
// of the Animate node it feeds.
export function renderContext(node) {
  const source = widgetNamed(node, "max_frames") ? node : animateBelow(node);
  const read = (name, fallback) => {
    const value = source ? widgetNamed(source, name)?.value : undefined;
    return typeof value === "number" ? value : fallback;
  };
  const seed = read("base_seed", read("s_value", FALLBACK.seed));
  return {
    max_frames: read("max_frames", FALLBACK.max_frames),
    fps: read("fps", FALLBACK.fps),
    seed: seed >= 0 ? seed : 0, // -1 draws a seed at render time; `s` previews as 0
  };
}

// The title of the node a schedule input is linked to (Deforum Audio Schedule, ...), whose
// schedule is known only when the prompt runs; null when the widget holds the schedule (no
// link, or a PrimitiveNode, which writes its value into the widget).
function linkedFrom(node, name) {
  const link = node.inputs?.find((slot) => slot.name === name)?.link;
  if (link === null || link === undefined) return null;
  const graph = node.graph ?? window.app?.graph;
  const info = graph?.links?.[link] ?? graph?.links?.get?.(link);
  const source = graph?.getNodeById(info?.origin_id);
  if (source?.type === "PrimitiveNode") return null;
  return source?.title ?? "a linked node"; // not made yet while the graph loads
}

function requestFor(node, name) {
  const text = widgetNamed(node, name)?.value;
  const ownName = widgetNamed(node, "name")?.value;
  return {
    ...renderContext(node),
    text,
    name: typeof ownName === "string" && name === "schedule" ? ownName : name,
    interpolation: widgetNamed(node, "interpolation")?.value ?? "linear",
  };
}

function element(tag, className, style) {
  const made = document.createElement(tag);
  made.className = className;
  Object.assign(made.style, style);
  return made;
}

const MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace";

function buildEditor(names) {
  const root = element("div", "deforum-schedule-editor", {
    display: "flex", flexDirection: "column", gap: "3px", height: "100%", minHeight: "0",
    boxSizing: "border-box", padding: "2px 0", fontSize: "11px", color: "#cde",
  });
  const head = element("div", "deforum-schedule-head", { display: "flex", gap: "6px" });
  const picker = element("select", "deforum-schedule-picker", {
    background: "#1b1f24", color: "#cde", border: "1px solid #345", fontSize: "11px",
  });
  for (const name of names) picker.append(new Option(name, name));
  const summary = element("span", "deforum-schedule-summary", {
    // no width of its own: cut with an ellipsis, never widening the editor past its node
    // (Nodes 2.0 sizes a DOM widget by its content)
    flex: "1", width: "0", minWidth: "0", overflow: "hidden", textOverflow: "ellipsis",
    whiteSpace: "nowrap",
    alignSelf: "center", color: "#9ab",
  });
  head.append(picker, summary);
  const text = element("textarea", "deforum-schedule-text", {
    flex: "1", minHeight: "28px", resize: "none", fontFamily: MONO, fontSize: "11px",
    background: "#1b1f24", color: "#e6edf3", border: "1px solid #345", padding: "2px 4px",
    whiteSpace: "pre-wrap", wordBreak: "break-all",
  });
  text.spellcheck = false;
  const curve = element("canvas", "deforum-schedule-curve", {
    width: "100%", height: `${CURVE_HEIGHT}px`, background: "#15181c",
  });
  const error = element("pre", "deforum-schedule-error", {
    display: "none", margin: "0", padding: "3px 4px", fontFamily: MONO, fontSize: "11px",
    background: "#3a1d1d", color: "#ffd7d7", border: "1px solid #a44", whiteSpace: "pre",
    overflow: "auto", maxHeight: "72px",
  });
  root.append(head, text, curve, error);
  return { root, picker, summary, text, curve, error };
}

function formatNumber(value) {
  return Number(value).toPrecision(4).replace(/\.?0+$/, "");
}

// The curve of the values over the frames, key frames as dots.
function drawCurve(canvas, values, keys) {
  const width = Math.max(60, Math.round(canvas.clientWidth || 240));
  const height = CURVE_HEIGHT;
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, width, height);
  if (!values.length) return;
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (high - low < 1e-9) {
    low -= 1;
    high += 1;
  }
  const x = (frame) => 4 + ((width - 8) * frame) / Math.max(1, values.length - 1);
  const y = (value) => height - 6 - ((height - 12) * (value - low)) / (high - low);
  ctx.strokeStyle = "#5ab0ff";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  values.forEach((value, frame) => (frame ? ctx.lineTo(x(frame), y(value)) : ctx.moveTo(x(frame), y(value))));
  ctx.stroke();
  ctx.fillStyle = "#ffcc55";
  for (const frame of keys) {
    if (frame < values.length) ctx.fillRect(x(frame) - 2, y(values[frame]) - 2, 4, 4);
  }
}

// The text's line holding the position, and a caret under the position in it.
export function caretLines(text, position) {
  if (typeof position !== "number") return [];
  const at = Math.max(0, Math.min(position, text.length));
  const start = text.lastIndexOf("\n", at - 1) + 1;
  const end = text.indexOf("\n", at);
  const line = text.slice(start, end < 0 ? undefined : end).replace(/\t/g, " ");
  return [line, `${" ".repeat(at - start)}^`];
}

// The route's error as the node says it: the input it is about, then what is wrong.
export function errorLine(error) {
  return error.parameter ? `${error.parameter}: ${error.message}` : error.message;
}

function errorText(error, text) {
  const fix = error.hint ? [`fix: ${error.hint}`] : [];
  return [errorLine(error), ...caretLines(text, error.position), ...fix].join("\n");
}

// Call `changed(widget)` after a widget's own callback whenever the user changes one of the
// node's widgets (all of them, or those named).
export function onWidgetChange(node, changed, names = null) {
  for (const widget of node.widgets ?? []) {
    if (names && !names.includes(widget.name)) continue;
    const callback = widget.callback;
    widget.callback = function (...args) {
      const result = callback?.apply(this, args);
      changed(widget);
      return result;
    };
  }
}

function summaryLine(values) {
  const first = values[0];
  const last = values[values.length - 1];
  return `${values.length} frames: ${formatNumber(first)} → ${formatNumber(last)} (min ${formatNumber(Math.min(...values))}, max ${formatNumber(Math.max(...values))})`;
}

// Show what the server answered for the schedule as it stands.
function showAnswer(node, parts, answer, text) {
  const state = node.deforumScheduleEditor;
  if (answer?.error) {
    state.shown = { error: answer.error };
    parts.error.textContent = errorText(answer.error, text);
    parts.error.style.display = "block";
    parts.summary.textContent = "⚠ error";
    parts.curve.style.display = "none";
    node.deforumSummary = `⚠ ${errorLine(answer.error)}`;
    return;
  }
  const values = answer?.values ?? [];
  state.shown = { values, keys: answer?.keys ?? [] };
  parts.error.style.display = "none";
  parts.curve.style.display = "block";
  parts.summary.textContent = values.length ? summaryLine(values) : "";
  node.deforumSummary = parts.summary.textContent;
  drawCurve(parts.curve, values, state.shown.keys);
}

// A linked schedule: no curve (the widget's own text is not what renders), the link named.
function showLinked(node, parts, source) {
  const state = node.deforumScheduleEditor;
  state.shown = { linked: source };
  parts.error.style.display = "none";
  parts.curve.style.display = "none";
  parts.summary.textContent = `follows ${source}`;
  parts.text.placeholder = `${state.current} comes from ${source} when the prompt runs`;
  node.deforumSummary = parts.summary.textContent;
}

async function ask(node, parts) {
  const state = node.deforumScheduleEditor;
  const source = linkedFrom(node, state.current);
  if (source !== null) {
    showLinked(node, parts, source);
    return;
  }
  const request = requestFor(node, state.current);
  if (typeof request.text !== "string") return; // a linked text: known only when it runs
  const asked = (state.asked = (state.asked ?? 0) + 1);
  try {
    const response = await api.fetchApi(ROUTE, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(request),
    });
    if (!response.ok || asked !== state.asked) return; // a later request supersedes this one
    showAnswer(node, parts, await response.json(), request.text);
  } catch {
    // the server is gone for a moment: the editor shows what it showed
  }
}

function refresh(node, parts) {
  clearTimeout(node.deforumScheduleEditor.timer);
  node.deforumScheduleEditor.timer = setTimeout(() => ask(node, parts), DELAY_MS);
}

// Show the named schedule in the editor (its text, then its curve once the server answers).
function select(node, parts, name) {
  const state = node.deforumScheduleEditor;
  state.current = name;
  parts.picker.value = name;
  const value = widgetNamed(node, name)?.value;
  const linked = linkedFrom(node, name) !== null;
  parts.text.readOnly = linked;
  parts.text.placeholder = "";
  if (linked) parts.text.value = "";
  else if (document.activeElement !== parts.text) {
    parts.text.value = typeof value === "string" ? value : "";
  }
  refresh(node, parts);
}

// Add the editor to a node; `addDisplay(node, name, className, element, height)` makes the
// DOM widget (deforum.js's displayWidget, which keeps it out of the saved values).
export function attachScheduleEditor(node, names, addDisplay) {
  if (!names.length || typeof node.addDOMWidget !== "function") return;
  const parts = buildEditor(names);
  node.deforumScheduleEditor = { current: names[0], parts };
  addDisplay(node, SCHEDULE_EDITOR, "deforum-schedule-editor-box", parts.root, EDITOR_HEIGHT);
  parts.picker.addEventListener("change", () => select(node, parts, parts.picker.value));
  parts.text.addEventListener("input", () => {
    const widget = widgetNamed(node, node.deforumScheduleEditor.current);
    if (!widget) return;
    widget.value = parts.text.value;
    widget.callback?.(widget.value);
    node.setDirtyCanvas?.(true, true);
  });
  // Keys typed into the editor belong to it, not to the canvas's shortcuts.
  parts.text.addEventListener("keydown", (event) => event.stopPropagation());
  onWidgetChange(node, (widget) => {
    if (names.includes(widget.name)) select(node, parts, widget.name);
    else refresh(node, parts); // max_frames, fps, interpolation or name: a new curve
  });
  select(node, parts, firstWorthShowing(node, names));
}

// The schedule to open the editor on: the first linked to another node, else the first that
// moves (more than one key, or math).
function firstWorthShowing(node, names) {
  const moving = (name) => {
    const text = widgetNamed(node, name)?.value;
    return typeof text === "string" && !/^\s*0\s*:\s*\(\s*[-+.\d]+\s*\)\s*$/.test(text);
  };
  return names.find((name) => linkedFrom(node, name) !== null) ?? names.find(moving) ?? names[0];
}

// Show the named schedule in the editor: a link into it was made or removed.
export function showSchedule(node, name) {
  const state = node.deforumScheduleEditor;
  if (state) select(node, state.parts, name);
}

// Show the editor's schedule again (after the workflow's values were loaded into the node).
export function reloadScheduleEditor(node, names) {
  const state = node.deforumScheduleEditor;
  if (state) select(node, state.parts, firstWorthShowing(node, names));
}

// Every editor of the graph anew: an Animate node's frame count, fps or seed changed.
export function refreshScheduleEditors(graph) {
  for (const node of graph?._nodes ?? graph?.nodes ?? []) {
    const state = node.deforumScheduleEditor;
    if (state) refresh(node, state.parts);
  }
}
