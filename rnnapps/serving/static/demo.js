// rnnapps demo page: plain JavaScript, no build step, no third-party code.
// Every request is a TF Serving REST call, so the page works against any server that
// speaks that API (rnnapps serve, or tensorflow_model_server with CORS support on).
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const APP_PANELS = {SentimentClassifier: "classify", TextGenerator: "generate", PoetryGenerator: "poetry", Translator: "translate"};

function serverUrl() {
  return $("#server-url").value.replace(/\/+$/, "");
}

// POST a columnar predict request. No Content-Type header: a text/plain body is a
// "simple" cross-origin request, so no CORS preflight is needed; both servers read JSON anyway.
async function predict(model, signature, inputs) {
  const response = await fetch(`${serverUrl()}/v1/models/${encodeURIComponent(model)}:predict`, {
    method: "POST",
    body: JSON.stringify({signature_name: signature, inputs}),
  });
  const text = await response.text();
  let payload;
  try {
    payload = JSON.parse(text);
  } catch (error) {
    throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
  if (!response.ok || payload.error) throw new Error(payload.error || `HTTP ${response.status}`);
  return payload.outputs;
}

function panel(id) {
  const root = document.getElementById(id);
  return {
    root,
    model: () => $("input[name=model]", root).value.trim(),
    field: (name) => $(`[name=${name}]`, $("form.run", root)),
    showError(message) {
      const box = $(".error", root);
      box.textContent = message;
      box.hidden = !message;
    },
  };
}

function number(input, integer) {
  const value = integer ? parseInt(input.value, 10) : parseFloat(input.value);
  if (Number.isNaN(value)) throw new Error(`${input.name} must be a number`);
  return value;
}

// Runs `work` for a panel's form: busy state, errors shown in the panel, never thrown.
function onRun(id, work) {
  const p = panel(id);
  $("form.run", p.root).addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("form.run button", p.root);
    button.disabled = true;
    p.root.classList.add("busy");
    p.showError("");
    try {
      await work(p);
    } catch (error) {
      p.showError(error.message);
    } finally {
      button.disabled = false;
      p.root.classList.remove("busy");
    }
  });
}

onRun("classify", async (p) => {
  const out = await predict(p.model(), "serving_default", {text: [p.field("text").value]});
  const probabilities = out.probabilities[0];
  // Older exports lack `classes`: number the columns then.
  const names = out.classes ? out.classes[0] : probabilities.map((_, i) => `class ${i}`);
  $(".label", p.root).textContent = `label: ${out.label[0]}`;
  const bars = $(".bars", p.root);
  bars.replaceChildren();
  probabilities.forEach((probability, i) => {
    const row = document.createElement("div");
    row.className = "bar-row" + (i === out.class_id[0] ? " top" : "");
    const name = document.createElement("span");
    name.className = "bar-name";
    name.textContent = names[i];
    const track = document.createElement("span");
    track.className = "bar-track";
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${(probability * 100).toFixed(1)}%`;
    track.append(bar);
    const value = document.createElement("span");
    value.className = "bar-value";
    value.textContent = `${(probability * 100).toFixed(1)}%`;
    row.append(name, track, value);
    bars.append(row);
  });
});

onRun("generate", async (p) => {
  const prompt = p.field("prompt").value;
  const out = await predict(p.model(), "generate", {
    prompt: [prompt],
    max_length: number(p.field("max_length"), true),
    temperature: number(p.field("temperature")),
    top_k: number(p.field("top_k"), true),
    top_p: number(p.field("top_p")),
    seed: number(p.field("seed"), true),
  });
  $(".prompt", p.root).textContent = prompt;
  $(".continuation", p.root).textContent = out.generated[0];
});

onRun("poetry", async (p) => {
  const out = await predict(p.model(), "generate", {
    form: p.field("form").value,
    acrostic: [p.field("acrostic").value.trim()],
    first_line: [p.field("first_line").value.trim()],
    mood: [p.field("mood").value.trim()],
    rhyme: p.field("rhyme").checked,
    no_repeat: p.field("no_repeat").checked,
    temperature: number(p.field("temperature")),
    top_k: number(p.field("top_k"), true),
    seed: number(p.field("seed"), true),
  });
  const poem = $(".poem", p.root);
  poem.replaceChildren();
  // One line per clause: a line ends after its comma or full stop.
  for (const line of out.poem[0].match(/[^，。？！]+[，。？！]?/g) || []) {
    const div = document.createElement("div");
    div.className = "poem-line";
    div.textContent = line;
    poem.append(div);
  }
});

onRun("translate", async (p) => {
  const signature = p.field("beam").checked ? "translate" : "greedy";
  const out = await predict(p.model(), signature, {source: [p.field("source").value], max_length: number(p.field("max_length"), true)});
  $(".translation", p.root).textContent = out.translations[0][0];
  drawHeatmap($(".heatmap", p.root), out);
});

// Attention of the best translation: one row per output token, one column per source
// token, each cell shaded by its weight (rows sum to 1 over the source).
function drawHeatmap(table, out) {
  table.replaceChildren();
  const tokens = out.tokens[0];
  let steps = tokens.indexOf("");
  if (steps < 0) steps = tokens.length;
  const weights = out.attention[0].slice(0, steps);
  // `source_tokens` came after the first exports; without it the columns are numbered.
  const sources = out.source_tokens ? out.source_tokens[0].filter((token) => token !== "") : (weights[0] || []).map((_, i) => `${i + 1}`);
  if (!steps) {
    table.caption = document.createElement("caption");
    table.caption.textContent = "no output tokens";
    return;
  }
  const head = table.createTHead().insertRow();
  head.append(document.createElement("th"));
  for (const token of sources) {
    const th = document.createElement("th");
    th.className = "source";
    th.textContent = token;
    head.append(th);
  }
  const body = table.createTBody();
  for (let t = 0; t < steps; t++) {
    const row = body.insertRow();
    const th = document.createElement("th");
    th.className = "target";
    th.textContent = tokens[t];
    row.append(th);
    for (let s = 0; s < sources.length; s++) {
      const weight = weights[t][s] || 0;
      const cell = row.insertCell();
      cell.className = "cell";
      cell.dataset.weight = weight.toFixed(3);
      cell.title = `${tokens[t]} ← ${sources[s]}: ${weight.toFixed(3)}`;
      cell.style.backgroundColor = `rgba(31, 94, 170, ${Math.min(1, weight).toFixed(3)})`;
    }
  }
}

// Which models the panels use: `rnnapps serve` lists its models at /demo/models.json;
// against another server (TF Serving has no list) the names typed in the panels stay.
async function connect() {
  const status = $("#server-status");
  status.textContent = "connecting...";
  try {
    const response = await fetch(`${serverUrl()}/demo/models.json`);
    if (response.ok) {
      const models = (await response.json()).models;
      for (const [app, id] of Object.entries(APP_PANELS)) {
        // Keep the panel's name if a model of its app has it, else take the first of that app.
        const input = $("input[name=model]", document.getElementById(id));
        const names = models.filter((model) => model.app === app).map((model) => model.name);
        if (names.length && !names.includes(input.value.trim())) input.value = names[0];
      }
    }
  } catch (error) {
    // not rnnapps serve (or unreachable): the metadata checks below tell which
  }
  const checks = Object.values(APP_PANELS).map(checkModel);
  const ready = (await Promise.all(checks)).filter(Boolean).length;
  status.textContent = `${ready} of ${checks.length} models ready at ${serverUrl()}`;
}

async function checkModel(id) {
  const p = panel(id);
  const label = $(".model-status", p.root);
  try {
    const response = await fetch(`${serverUrl()}/v1/models/${encodeURIComponent(p.model())}/metadata`);
    const payload = await response.json();
    if (!response.ok) throw new Error(payload.error || `HTTP ${response.status}`);
    label.textContent = `version ${payload.model_spec.version}`;
    label.className = "model-status status ok";
    return true;
  } catch (error) {
    label.textContent = `not available: ${error.message}`;
    label.className = "model-status status bad";
    return false;
  }
}

$("#server-url").value = new URLSearchParams(location.search).get("server") || (location.protocol.startsWith("http") ? location.origin : "http://localhost:8501");
$("#server-form").addEventListener("submit", (event) => {
  event.preventDefault();
  connect();
});
for (const id of Object.values(APP_PANELS)) {
  $("form.row", document.getElementById(id)).addEventListener("submit", (event) => {
    event.preventDefault();
    checkModel(id);
  });
  $("input[name=model]", document.getElementById(id)).addEventListener("change", () => checkModel(id));
}
connect();
