// The chat page: what the store holds with questions to try and a way to add articles, streamed answers,
// citations that open the source with the quote highlighted, the briefing.
// Plain browser JavaScript, no build step, no third-party code. Text from the server (articles, answers,
// titles) only ever becomes DOM text nodes; the one HTML it sends, the rendered briefing, is parsed inert
// (DOMParser) and rebuilt from a whitelist of tags and attributes.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "news-desk-token"; // sessionStorage: this tab only, gone when it closes

  let conversation = newId();
  let busy = false;
  let opener = null; // the button that opened the source panel, focused again when it closes
  let sourceRequest = 0;
  let briefLoaded = false;
  let tokenPrompt = null;
  let serverEngine = null; // what /api/health last said answers: "extractive", "llm" or "local"

  function newId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // An element with attributes, listeners (onclick: fn) and children (strings become text nodes).
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  // -- the server ---------------------------------------------------------------------------------------

  async function api(path, options = {}) {
    for (let attempt = 0; ; attempt += 1) {
      const headers = new Headers(options.headers || {});
      const token = sessionStorage.getItem(TOKEN_KEY);
      if (token) headers.set("Authorization", "Bearer " + token);
      const response = await fetch(path, { ...options, headers });
      if (response.status !== 401 || attempt >= 3) return response;
      await askToken(Boolean(token));
    }
  }

  function askToken(wrong) {
    if (!tokenPrompt) {
      tokenPrompt = new Promise((resolve) => {
        const dialog = $("token-dialog");
        $("token-wrong").hidden = !wrong;
        dialog.addEventListener(
          "close",
          () => {
            const value = $("token").value.trim();
            if (value) sessionStorage.setItem(TOKEN_KEY, value);
            $("token").value = "";
            tokenPrompt = null;
            resolve();
          },
          { once: true },
        );
        dialog.showModal();
      });
    }
    return tokenPrompt;
  }

  async function errorOf(response) {
    try {
      const data = await response.json();
      return data.error || `HTTP ${response.status}`;
    } catch {
      return `HTTP ${response.status}`;
    }
  }

  // Server-sent events from a fetch response (POST, so not EventSource): yields {event, data}.
  async function* events(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message";
        let data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data += line.slice(5).trim();
        }
        if (data) yield { event, data: JSON.parse(data) };
      }
    }
  }

  // -- answers and citations ----------------------------------------------------------------------------

  function sourceLabel(c) {
    return `${c.title} — ${c.outlet || "outlet unknown"}, ${c.published || "date unknown"}`;
  }

  function citeButton(c, label) {
    return el(
      "button",
      { type: "button", class: "cite", "aria-label": `Source ${c.key}: ${c.title}`, onclick: (e) => openSource(c, e.currentTarget) },
      label,
    );
  }

  // Text with [n] markers: each marker that has a citation becomes a button opening it.
  function withMarkers(tag, cls, text, byKey) {
    const node = el(tag, { class: cls });
    let last = 0;
    for (const m of text.matchAll(/\[(\d+)\]/g)) {
      node.append(text.slice(last, m.index));
      const c = byKey.get(Number(m[1]));
      node.append(c ? citeButton(c, m[0]) : m[0]);
      last = m.index + m[0].length;
    }
    node.append(text.slice(last));
    return node;
  }

  // The answer text: its answer phrase (answer_span: offsets into the text) in a <mark>, and every sentence
  // that failed its checks wrapped so nobody can miss it.
  function answerText(answer, byKey) {
    const span = answer.answer_span;
    if (!(answer.unsupported || []).length && span && span[1] > span[0]) {
      const node = el("p", { class: "text" });
      node.append(
        ...withMarkers("span", "", answer.text.slice(0, span[0]), byKey).childNodes,
        el("mark", { class: "answer-phrase" }, answer.text.slice(span[0], span[1])),
        ...withMarkers("span", "", answer.text.slice(span[1]), byKey).childNodes,
      );
      return node;
    }
    return checkedText(answer, byKey);
  }

  function checkedText(answer, byKey) {
    const node = el("p", { class: "text" });
    const reasons = new Map((answer.claims || []).filter((c) => !c.supported).map((c) => [c.text, c.reasons]));
    let rest = answer.text;
    for (const sentence of answer.unsupported || []) {
      const marked = `${sentence} [unverified]`;
      const at = rest.indexOf(marked);
      if (at < 0) continue;
      node.append(withMarkers("span", "", rest.slice(0, at), byKey));
      const why = reasons.get(sentence) || [];
      const flagged = withMarkers("span", "unverified", sentence, byKey);
      flagged.prepend(el("strong", { class: "badge" }, "Unverified"), " ");
      if (why.length) flagged.title = why.join("; ");
      node.append(flagged);
      if (why.length) node.append(el("span", { class: "why" }, ` (${why.join("; ")})`));
      rest = rest.slice(at + marked.length);
    }
    node.append(withMarkers("span", "", rest, byKey));
    return node;
  }

  // One entry per article: its citation buttons, then each quote.
  function sourceList(citations) {
    const list = el("ol", { class: "sources", "aria-label": "Sources" });
    const groups = new Map();
    for (const c of citations) {
      if (!groups.has(c.article_id)) groups.set(c.article_id, []);
      groups.get(c.article_id).push(c);
    }
    for (const group of groups.values()) {
      const item = el("li", {}, ...group.map((c) => citeButton(c, `[${c.key}]`)), " ", sourceLabel(group[0]));
      for (const c of group) item.append(el("q", {}, c.quote));
      list.append(item);
    }
    return list;
  }

  // The model's text kept aside (it failed its checks), behind a toggle, with why each claim failed.
  function unverifiedToggle(summary, answer) {
    const details = el("details", { class: "unverified-text" });
    details.append(el("summary", {}, summary));
    details.append(el("p", { class: "unverified" }, el("strong", { class: "badge" }, "Unverified"), " ", answer.unverified_text));
    // Why: each failing claim's reasons (the claim itself named when it is not the whole text shown above).
    const failed = (answer.claims || []).filter((c) => !c.supported);
    const list = el("ul", { class: "why", "aria-label": "Why it failed its checks" });
    const whole = (c) => c.text.replace(/\s*\[\d+\]/g, "").trim() === answer.unverified_text.trim();
    for (const c of failed) {
      const why = (c.reasons || []).join("; ") || "it did not pass the checks";
      list.append(el("li", {}, failed.length === 1 && whole(c) ? `Why: ${why}` : `“${c.text}” — ${why}`));
    }
    if (failed.length) details.append(list);
    return details;
  }

  // A labelled block of an answer: the reader's verbatim quote, or the model's checked answer.
  function quoteBlock(...body) {
    return el(
      "section",
      { class: "part reader-quote", "aria-label": "The reader's verbatim quote" },
      el("p", { class: "part-label" }, el("span", { class: "part-badge quote-badge" }, "Reader's quote · verbatim from the article")),
      ...body,
    );
  }

  function modelBlock(name, ...body) {
    const badge = el(
      "span",
      { class: "part-badge model-badge" },
      "Model · ",
      el("span", { class: "model-name" }, name || "local model"),
      " · checked",
    );
    return el(
      "section",
      { class: "part model-answer", "aria-label": `The model's answer (${name || "local model"}), checked against the articles` },
      el("p", { class: "part-label" }, badge),
      ...body,
    );
  }

  function renderAnswer(box, answer) {
    // The quote's markers resolve against the answer's citations (the same keys), its own as a fallback.
    const byKey = new Map((answer.quote ? answer.quote.citations : []).map((c) => [c.key, c]));
    for (const c of answer.citations) byKey.set(c.key, c);
    const parts = [];
    // The local engine: the reader's quote first, then the model's checked answer in its own block; or, when the
    // model's answer did not hold, the quote alone is the answer and the model's text waits behind a toggle.
    // (An LLM engine's answer is the model's alone, shown as before.)
    const local = answer.engine === "local";
    const byModel = local && answer.answered_by === "model";
    const failedModel = local && !answer.refused && !byModel && Boolean(answer.unverified_text);
    if (answer.quote) parts.push(quoteBlock(answerText(answer.quote, byKey)));
    if (byModel) parts.push(modelBlock(answer.model, answerText(answer, byKey)));
    else if (failedModel) parts.push(quoteBlock(answerText(answer, byKey)));
    else parts.push(answerText(answer, byKey));
    for (const note of answer.notes || []) parts.push(el("p", { class: "note" }, `Note: ${note}`));
    if (failedModel) {
      parts.push(unverifiedToggle("Show the local model's unverified answer (it failed its checks)", answer));
    } else if (answer.refused && answer.unverified_text) {
      // Every sentence failed its checks: the refusal stands; the model's text only behind a toggle.
      parts.push(unverifiedToggle("Show the model's unverified text (it failed every check)", answer));
    }
    if ((answer.claims || []).some((c) => c.llm)) {
      const list = el("ul", { class: "model-check", "aria-label": "Model check, beside the rules" });
      for (const c of answer.claims) {
        list.append(el("li", {}, `Model check: ${c.llm || "not checked"}${c.llm_reason ? " (" + c.llm_reason + ")" : ""} — ${c.text}`));
      }
      parts.push(list);
    }
    if (answer.standalone_question && answer.standalone_question !== answer.question) {
      parts.push(el("p", { class: "searched" }, `Searched for: ${answer.standalone_question}`));
    }
    if (answer.citations.length) parts.push(sourceList(answer.citations));
    if (answer.refused && answer.closest && answer.closest.length) {
      const near = el("ol", { class: "sources closest", "aria-label": "Closest passages" });
      for (const c of answer.closest) near.append(el("li", {}, sourceLabel(c), el("q", {}, c.quote)));
      parts.push(el("p", { class: "closest-label" }, "Closest passages (they do not answer the question):"), near);
      if (answer.coverage_note) parts.push(el("p", { class: "coverage" }, answer.coverage_note));
    }
    if (answer.as_of) parts.push(el("p", { class: "asof" }, `As of ${answer.as_of} (newest cited article)`));
    box.classList.toggle("refused", answer.refused);
    box.replaceChildren(...parts);
  }

  // What the local engine streams: the reader's quote, then "\n\nModel (<name>, checked): " and the model's
  // sentences (rag/answer/local.py). Once that label has arrived the stream is shown as the two labelled parts
  // the final answer has; the node the model's text goes on streaming into is returned.
  const STREAM_PARTS = /^(?:([\s\S]*?)\n\n)?Model \(([^\n]*?), checked\): ([\s\S]*)$/;

  function splitStream(box, text, streamed) {
    const m = serverEngine === "local" || serverEngine === null ? STREAM_PARTS.exec(streamed) : null;
    if (!m) return null;
    const quoted = (m[1] || "").trim();
    const modelText = el("p", { class: "text streamed streaming" });
    text.classList.remove("streaming");
    text.replaceChildren(quoted);
    box.replaceChildren(...(quoted ? [quoteBlock(text)] : []), modelBlock(m[2], modelText));
    return modelText;
  }

  function showError(box, message) {
    box.append(el("p", { class: "error", role: "alert" }, message));
  }

  async function ask(question) {
    busy = true;
    $("send").disabled = true;
    $("welcome").hidden = true;
    const answer = el("div", { class: "answer", "aria-busy": "true" });
    const text = el("p", { class: "text streamed streaming" });
    answer.append(text);
    let streamed = "";
    let split = null; // the local engine's two parts, once the model's label has arrived
    const turn = el("li", { class: "turn" }, el("p", { class: "question" }, question), answer);
    $("log").append(turn);
    turn.scrollIntoView({ block: "end" });
    const payload = { question };
    if ($("since").value) payload.since = $("since").value;
    if ($("until").value) payload.until = $("until").value;
    if ($("outlet").value) payload.outlets = [$("outlet").value];
    try {
      const response = await api(`/api/chat/${conversation}/stream`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload),
      });
      if (!response.ok) throw new Error(await errorOf(response));
      for await (const { event, data } of events(response)) {
        if (event === "text") {
          streamed += data.text;
          split = split || splitStream(answer, text, streamed);
          if (split) split.textContent = STREAM_PARTS.exec(streamed)[3];
          else text.append(data.text);
          turn.scrollIntoView({ block: "end" });
        } else if (event === "answer") {
          renderAnswer(answer, data);
        } else if (event === "error") {
          throw new Error(data.error);
        }
      }
    } catch (err) {
      showError(answer, err.message || String(err));
    } finally {
      for (const node of answer.querySelectorAll(".streaming")) node.classList.remove("streaming");
      answer.removeAttribute("aria-busy");
      busy = false;
      $("send").disabled = false;
      refreshStatus();
    }
  }

  // -- the source panel ---------------------------------------------------------------------------------

  async function openSource(c, button) {
    const request = ++sourceRequest;
    opener = button;
    const panel = $("source");
    panel.hidden = false;
    document.body.classList.add("reading");
    $("source-title").textContent = c.title;
    $("source-meta").textContent = "Loading…";
    $("source-text").replaceChildren();
    let a;
    try {
      const response = await api(`/api/articles/${encodeURIComponent(c.article_id)}?start=${c.start}&end=${c.end}`);
      if (request !== sourceRequest) return; // another citation was clicked meanwhile
      if (!response.ok) throw new Error(await errorOf(response));
      a = await response.json();
    } catch (err) {
      if (request === sourceRequest) $("source-meta").textContent = err.message || String(err);
      return;
    }
    $("source-title").textContent = a.title;
    const meta = [a.outlet || "outlet unknown", a.published || "date unknown"];
    if (a.authors.length) meta.push(a.authors.join(", "));
    $("source-meta").replaceChildren(meta.join(" · "));
    if (/^https?:\/\//i.test(a.url)) {
      $("source-meta").append(" · ", el("a", { href: a.url, target: "_blank", rel: "noopener noreferrer" }, "original"));
    }
    const h = a.highlight;
    const mark = el("mark", { tabindex: "-1" }, h.quote);
    $("source-text").replaceChildren(a.text.slice(0, h.start), mark, a.text.slice(h.end));
    mark.scrollIntoView({ block: "center" });
    mark.focus({ preventScroll: true });
  }

  function closeSource() {
    $("source").hidden = true;
    document.body.classList.remove("reading");
    if (opener && document.contains(opener)) opener.focus();
    opener = null;
  }

  // -- the briefing -------------------------------------------------------------------------------------

  // The briefing is the server's own rendering (rag/brief/briefrender.py, the page `rag brief --format html`
  // writes, every text escaped there). It is rebuilt here element by element from a whitelist, so nothing in
  // it could run even if escaping failed, and its [n] links become buttons opening the source beside it.
  const BRIEF_TAGS = new Set(["h1", "h2", "p", "nav", "ol", "ul", "li", "a", "article", "span", "sup", "blockquote", "strong"]);
  const BRIEF_ATTRS = new Set(["class", "id", "href", "value", "aria-label"]);

  function rebuilt(node, byKey) {
    if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.textContent);
    if (node.nodeType !== Node.ELEMENT_NODE) return null;
    const tag = node.tagName.toLowerCase();
    if (!BRIEF_TAGS.has(tag)) return document.createTextNode(node.textContent);
    const cited = tag === "a" && node.classList.contains("cite") ? byKey.get(Number(node.dataset.key)) : null;
    if (cited) return citeButton(cited, node.textContent);
    const out = document.createElement({ h1: "h2", h2: "h3" }[tag] || tag); // the page's own h1 is "News desk"
    for (const attr of node.attributes) {
      const name = attr.name.toLowerCase();
      if (!BRIEF_ATTRS.has(name) || (name === "href" && !/^(#|https?:\/\/)/i.test(attr.value))) continue;
      out.setAttribute(name, attr.value);
    }
    if (/^https?:/i.test(out.getAttribute("href") || "")) {
      out.target = "_blank";
      out.rel = "noopener noreferrer";
    }
    for (const child of node.childNodes) {
      const copy = rebuilt(child, byKey);
      if (copy) out.append(copy);
    }
    return out;
  }

  function plural(n, word, many) {
    return `${n} ${n === 1 ? word : many || word + "s"}`;
  }

  async function loadBrief() {
    briefLoaded = true;
    const box = $("brief");
    box.setAttribute("aria-busy", "true");
    box.replaceChildren(el("p", { class: "hint" }, "Writing the briefing…"));
    const date = $("brief-date").value;
    try {
      const response = await api("/api/brief" + (date ? `?date=${encodeURIComponent(date)}` : ""));
      if (!response.ok) {
        box.replaceChildren(el("p", { class: "error", role: "alert" }, await errorOf(response)));
        return;
      }
      const b = await response.json();
      const byKey = new Map(b.citations.map((c) => [c.key, c]));
      const page = new DOMParser().parseFromString(b.html, "text/html").body;
      box.replaceChildren(...Array.from(page.childNodes, (n) => rebuilt(n, byKey)).filter(Boolean));
      if (!date) $("brief-date").value = b.date;
    } catch (err) {
      box.replaceChildren(el("p", { class: "error", role: "alert" }, err.message || String(err)));
    } finally {
      box.removeAttribute("aria-busy");
    }
  }

  // -- what the store holds, questions to try, adding articles -----------------------------------------

  async function loadSummary() {
    try {
      const response = await api("/api/status");
      if (!response.ok) {
        $("summary").textContent = await errorOf(response);
        return;
      }
      showSummary(await response.json());
    } catch {
      $("summary").textContent = "The server cannot be reached.";
    }
  }

  function showSummary(s) {
    const named = Object.entries(s.outlets).filter(([name]) => name); // "" is "outlet unknown": nothing to pick
    const parts = [plural(s.articles, "article")];
    if (s.first && s.last) parts.push(s.first === s.last ? `published ${s.first}` : `published ${s.first} to ${s.last}`);
    if (named.length) {
      const listed = named.slice(0, 8).map(([name, n]) => `${name} (${n})`).join(", ");
      parts.push(`${plural(named.length, "outlet")}: ${listed}${named.length > 8 ? `, ${named.length - 8} more` : ""}`);
    }
    $("summary").textContent = s.articles ? parts.join(" · ") : "The store is empty: add articles below.";
    const n = s.newest;
    $("newest").hidden = !n;
    if (n) $("newest").textContent = `Newest: ${n.title} — ${n.outlet || "outlet unknown"}, ${n.published || "date unknown"}`;
    $("examples").replaceChildren(
      ...s.examples.map((q) =>
        el("li", {}, el("button", { type: "button", class: "example", onclick: () => busy || ask(q) }, q)),
      ),
    );
    $("examples-box").hidden = !s.examples.length;
    const chosen = $("outlet").value;
    $("outlet").replaceChildren(
      el("option", { value: "" }, "All outlets"),
      ...named.map(([name, count]) => el("option", { value: name }, `${name} (${count})`)),
    );
    $("outlet").value = named.some(([name]) => name === chosen) ? chosen : "";
  }

  // A file's bytes as base64 (the JSON body of /api/ingest carries files so).
  function base64Of(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).split(",")[1] || "");
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  // What one ingest did, as `rag ingest` would say it: counts, collapsed duplicates, skips with their reasons.
  function outcome(r) {
    const done = [];
    if (r.added) done.push(`${plural(r.added, "article")} added`);
    if (r.updated) done.push(`${plural(r.updated, "article")} updated`);
    if (r.unchanged) done.push(`${plural(r.unchanged, "article")} already in the store`);
    for (const d of r.duplicates) done.push(`the same text as ${d.duplicate_of}, not added again`);
    if (r.sample_removed) done.push("the bundled sample was removed: the store holds yours now");
    if (!done.length && !r.skipped.length) done.push("nothing new since it was last fetched");
    const skips = r.skipped.map((s) => el("span", { class: "skip" }, ` skipped ${s.source.replace(/^upload:/, "")}: ${s.reason}.`));
    return [done.join("; ") + (done.length ? "." : ""), ...skips];
  }

  async function addOne(label, body) {
    const item = el("li", {}, `${label}: adding…`);
    $("add-results").append(item);
    try {
      const response = await api("/api/ingest", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(await errorOf(response));
      item.replaceChildren(`${label}: `, ...outcome(await response.json()));
    } catch (err) {
      item.replaceChildren(`${label}: `, el("span", { class: "skip" }, err.message || String(err)));
    }
  }

  // One request per file and per URL, one after another: each gets its own line of results.
  async function addArticles() {
    const files = Array.from($("add-files").files);
    const urls = $("add-urls").value.split(/\s+/).filter(Boolean);
    $("add-results").replaceChildren();
    if (!files.length && !urls.length) {
      $("add-results").append(el("li", {}, "Choose files, or paste the address of an article, first."));
      return;
    }
    $("add-send").disabled = true;
    try {
      for (const file of files) {
        let content;
        try {
          content = await base64Of(file);
        } catch (err) {
          $("add-results").append(el("li", {}, `${file.name}: `, el("span", { class: "skip" }, `cannot read it: ${err}`)));
          continue;
        }
        await addOne(file.name, { files: [{ name: file.name, content }] });
      }
      for (const url of urls) await addOne(url, { urls: [url] });
      $("add-files").value = "";
      $("add-urls").value = "";
    } finally {
      $("add-send").disabled = false;
      loadSummary();
      refreshStatus();
    }
  }

  // -- tabs, status, keyboard ---------------------------------------------------------------------------

  function selectTab(name) {
    for (const other of ["chat", "brief"]) {
      const on = other === name;
      $(`tab-${other}`).setAttribute("aria-selected", String(on));
      $(`tab-${other}`).tabIndex = on ? 0 : -1;
      $(`view-${other}`).hidden = !on;
    }
    if (name === "brief" && !briefLoaded) loadBrief();
  }

  async function refreshStatus() {
    try {
      const response = await api("/api/health");
      if (!response.ok) {
        $("status").textContent = await errorOf(response);
        return;
      }
      const h = await response.json();
      serverEngine = h.engine;
      const newest = h.newest ? ` · newest ${h.newest}` : "";
      const engine =
        h.engine === "llm"
          ? `LLM ${h.model}`
          : h.engine === "local"
            ? `verbatim quotes, then ${h.model || "a local model"} (checked)`
            : "quoted answers (no LLM)";
      $("status").textContent = `${plural(h.articles, "article")}${newest} · ${engine}`;
    } catch {
      $("status").textContent = "The server cannot be reached.";
    }
  }

  function start() {
    $("ask").addEventListener("submit", (e) => {
      e.preventDefault();
      const question = $("question").value.trim();
      if (!question || busy) return;
      $("question").value = "";
      ask(question);
    });
    $("question").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        $("ask").requestSubmit();
      }
    });
    $("new-chat").addEventListener("click", () => {
      api(`/api/chat/${conversation}`, { method: "DELETE" }).catch(() => {});
      conversation = newId();
      $("log").replaceChildren();
      $("welcome").hidden = false;
      loadSummary();
      $("question").focus();
    });
    $("add").addEventListener("submit", (e) => {
      e.preventDefault();
      addArticles();
    });
    $("brief-form").addEventListener("submit", (e) => {
      e.preventDefault();
      loadBrief();
    });
    $("source-close").addEventListener("click", closeSource);
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !$("source").hidden && !$("token-dialog").open) closeSource();
    });
    const tabs = ["chat", "brief"];
    tabs.forEach((name, i) => {
      const tab = $(`tab-${name}`);
      tab.addEventListener("click", () => selectTab(name));
      tab.addEventListener("keydown", (e) => {
        if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
        const next = tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
        selectTab(next);
        $(`tab-${next}`).focus();
      });
    });
    refreshStatus();
    loadSummary();
    $("question").focus();
  }

  start();
})();
