// Muutostutka situation room: the browser side.
//
// One page, no framework: the server's JSON API is the source of truth and this file keeps
// only what it last fetched, rendering it with DOM APIs (never innerHTML with data, so
// employer names, notes and the like cannot inject markup). The live stream only says *that*
// something changed; the page then fetches the picture again (coalesced, at most one request
// in flight) so that every open page converges on the same state.

import { CODES, DEFAULT_LANGUAGE, LANGUAGES, LOCALES, STRINGS } from "./i18n.js";
import { loadGeometry, renderMap } from "./map.js";

const TOKEN_KEY = "tutka.room.token";
const LANGUAGE_KEY = "tutka.room.language";
const COUNTRY = "SSS";

// Live updates: bundle a burst of stream messages into one fetch, but never wait longer
// than this after the first one (a steady stream must not starve the page).
const REFRESH_DELAY_MS = 150;
// Free-text filters are fetched when the user pauses typing.
const TYPING_DELAY_MS = 500;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 15000;
// The server pings every 15 s; a silent stream for this long is treated as dead.
const STREAM_SILENCE_MS = 45000;
// How many latency samples to keep for the tests (a wall display runs for weeks).
const MAX_LATENCIES = 5000;
// Announce individual new alerts up to this many at once; more are summarised.
const MAX_ANNOUNCED = 3;
const ANNOUNCE_INTERVAL_MS = 4000;
// How long a newly opened alert's row stays highlighted.
const FRESH_MS = 8000;

// Severity is importance; the words differ by polarity (harm: warning, critical; good news:
// notable, strong) at the same three levels. The filter offers the levels by their harm words.
const SEVERITIES = ["watch", "warning", "critical"];
const ALL_SEVERITIES = ["watch", "warning", "notable", "critical", "strong"];
const SEVERITY_RANK = { watch: 1, warning: 2, notable: 2, critical: 3, strong: 3 };
// Symbols so that severity and polarity never rely on colour alone.
const SEVERITY_SYMBOL = { watch: "!", warning: "!!", notable: "!!", critical: "!!!", strong: "!!!" };
const POLARITY_SYMBOL = { negative: "⊖", positive: "⊕" };
const CHANGE_SYMBOL = { opened: "●", escalated: "▲", resolved: "✓", updated: "•" };
const POLARITIES = ["negative", "positive"];
const ASSESSMENTS = ["expected", "new_trend", "false_alarm"];
const CLOSURE_REASONS = ["new_normal_accepted", "structural_handled", "false_alarm"];
const SUBSCRIPTION_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;
const ALERT_PATH = /^\/alerts\/([^/]+)\/?$/;

// -- instrumentation for the browser tests ------------------------------------------------------

const metrics = { firstRenderMs: null, latencies: [], ready: false };
window.tutkaRoom = metrics;
metrics.buildBriefing = () => briefingContexts().then(() => buildBriefing());

// -- state ----------------------------------------------------------------------------------------

const state = {
  language: DEFAULT_LANGUAGE,
  token: null,
  // Bumped on sign-out so that answers to an earlier session's requests are ignored.
  session: 0,
  me: null,
  permissions: new Set(),
  reference: null,
  areas: new Map(),
  picture: null,
  // What the map draws the whole country as: "regions" or "ely" (ELY areas).
  mapLayer: "regions",
  subscriptions: null,
  // The open alert: {id, data, opener}; null when the panel is closed.
  detail: null,
  // Stream messages waiting for the next picture: emitted times, and newly opened alert
  // ids (with when they were heard of) to announce.
  waitingEmitted: [],
  newlyOpened: new Map(),
  // Alert id -> until when its row is highlighted as new.
  freshUntil: new Map(),
  lastAnnounced: 0,
  announceTimer: null,
  sawReadyPicture: false,
  stream: null,
  // The live indicator: off, connecting, live or reconnecting.
  liveMode: "off",
  // Area context answers by "area|data date", and the area each container shows.
  contexts: new Map(),
  // The last notice upload's answer, and the key of the file chosen (a retry reuses it).
  intake: null,
  intakeKey: null,
};

// -- small helpers ------------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

/** Create an element: attrs are attributes (className, text and dataset are special). */
function h(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "className") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of [].concat(children)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, children = []) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function t(key, params = {}) {
  const table = STRINGS[state.language] || STRINGS[DEFAULT_LANGUAGE];
  const template = table[key] ?? STRINGS[DEFAULT_LANGUAGE][key] ?? key;
  return template.replace(/\{(\w+)\}/g, (match, name) =>
    params[name] === undefined || params[name] === null ? match : String(params[name]),
  );
}

/** A text with a count, in the right plural form ("1 ilmoitus", "2 ilmoitusta"). */
function tn(key, n, params = {}) {
  const form = new Intl.PluralRules(locale()).select(n) === "one" ? "one" : "other";
  return t(`${key}.${form}`, { ...params, n: fmtInt(n) });
}

/** The readable name of an API code (kind, severity, ...), or the code itself. */
function codeName(table, code) {
  if (code === null || code === undefined || code === "") return "";
  const names = CODES[table] && CODES[table][code];
  return names ? names[state.language] || names[DEFAULT_LANGUAGE] : String(code);
}

function localized(text) {
  if (!text) return "";
  return text[state.language] || text[DEFAULT_LANGUAGE] || "";
}

function locale() {
  return LOCALES[state.language] || LOCALES[DEFAULT_LANGUAGE];
}

function fmtInt(value) {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 0 }).format(value);
}

function fmtNumber(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const size = Math.abs(value);
  const digits = size >= 100 ? 0 : size >= 10 ? 1 : 2;
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(value);
}

function fmtScore(value) {
  return new Intl.NumberFormat(locale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
}

/** "2024-11-25" as a date in the user's language (a calendar date: no time zone shift). */
function fmtDate(iso) {
  if (!iso) return "–";
  const [y, m, d] = iso.split("-").map(Number);
  if (!y || !m || !d) return iso;
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeZone: "UTC" }).format(
    new Date(Date.UTC(y, m - 1, d)),
  );
}

/** "2024-10" as a month ("lokakuu 2024"); short: "loka 2024". */
function fmtPeriod(period, short = false) {
  if (!period) return "–";
  const [y, m] = period.split("-").map(Number);
  if (!y || !m) return period;
  return new Intl.DateTimeFormat(locale(), {
    month: short ? "short" : "long", year: "numeric", timeZone: "UTC",
  }).format(new Date(Date.UTC(y, m - 1, 1)));
}

function fmtDateTime(iso) {
  if (!iso) return "–";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), { dateStyle: "short", timeStyle: "short" }).format(when);
}

function periodIndex(period) {
  const [y, m] = period.split("-").map(Number);
  return y * 12 + (m - 1);
}

function indexPeriod(index) {
  const y = Math.floor(index / 12);
  const m = (index % 12) + 1;
  return `${y}-${String(m).padStart(2, "0")}`;
}

function areaName(code) {
  const area = state.areas.get(code);
  return area ? localized(area.name) : code;
}

/** Announce a sentence to screen readers through the polite live region. */
function announce(text) {
  const region = $("live-region");
  region.textContent = "";
  // A fresh text node after a tick makes screen readers read the same sentence twice.
  setTimeout(() => { region.textContent = text; }, 50);
}

/** Re-render a container and give the focus back to the equivalent element, if it had it. */
function keepingFocus(container, render) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.focusKey : null;
  render();
  if (key) {
    const again = container.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
    if (again) again.focus({ preventScroll: true });
  }
}

function setError(element, text) {
  setText(element, text || "");
}

/** Change a text only when it differs: live regions would announce a rewrite of the same words. */
function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/**
 * Single-flight, coalescing runner: many requests while one is waiting or running end in
 * at most one more run. The task itself picks up whatever has accumulated when it starts.
 */
function coalesced(task, delay = REFRESH_DELAY_MS) {
  let timer = null;
  let running = false;
  let again = false;
  let againNow = false;

  async function run() {
    running = true;
    try {
      await task();
    } catch (err) {
      console.error(err);
    } finally {
      running = false;
      if (again) {
        const now = againNow;
        again = false;
        againNow = false;
        request(now);
      }
    }
  }

  function request(immediate = false) {
    if (running) {
      again = true;
      againNow = againNow || immediate;
      return;
    }
    if (immediate) {
      clearTimeout(timer);
      timer = null;
      run();
    } else if (timer === null) {
      timer = setTimeout(() => { timer = null; run(); }, delay);
    }
  }

  function cancel() {
    clearTimeout(timer);
    timer = null;
    again = false;
  }

  return { request, cancel };
}

// -- the API --------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

/** Call the API; a 401 signs the user out, except while a token is being tried (checking). */
async function api(path, { method = "GET", body, checking = false } = {}) {
  const session = state.session;
  const headers = { Authorization: `Bearer ${state.token}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method, headers, cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, null);
  }
  if (response.status === 401 && session === state.session && !checking) {
    signOut("signin.expired");
  }
  if (!response.ok) {
    let detail = null;
    try {
      detail = (await response.json()).detail;
    } catch (err) {
      detail = null;
    }
    throw new ApiError(response.status, detail);
  }
  if (response.status === 204) return null;
  return response.json();
}

/** The fields a 422 answer complains about: the last named part of each error's loc. */
function invalidFields(detail) {
  if (!Array.isArray(detail)) return [];
  return detail.map((item) => (item.loc || []).filter((part) => typeof part === "string").pop()).filter(Boolean);
}

/** A 422 detail (a sentence, or pydantic's list of errors) as one readable sentence. */
function detailText(detail) {
  if (typeof detail === "string") return detail;
  if (!Array.isArray(detail)) return "";
  return detail
    .map((item) => {
      const where = (item.loc || []).filter((part) => !["body", "query", "path"].includes(part)).join(".");
      const message = String(item.msg || "").replace(/^Value error, /, "");
      return where ? `${where}: ${message}` : message;
    })
    .join("; ");
}

function describeError(err) {
  if (!(err instanceof ApiError)) return t("error.network");
  switch (err.status) {
    case 0: return t("error.network");
    case 401: return t("signin.expired");
    case 403: return t("error.forbidden", { detail: detailText(err.detail) });
    case 404: return t("error.notFound", { detail: detailText(err.detail) });
    case 422: return t("error.input", { detail: detailText(err.detail) });
    default: return t("error.server", { status: err.status });
  }
}

// -- language -------------------------------------------------------------------------------------

function initialLanguage() {
  const stored = localStorage.getItem(LANGUAGE_KEY);
  return LANGUAGES.includes(stored) ? stored : DEFAULT_LANGUAGE;
}

function setLanguage(language) {
  if (!LANGUAGES.includes(language)) return;
  state.language = language;
  localStorage.setItem(LANGUAGE_KEY, language);
  applyLanguage();
}

/** Put every text on the page in the current language (data included). */
function applyLanguage() {
  document.documentElement.lang = state.language;
  document.title = t("app.documentTitle");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const language of LANGUAGES) {
    $(`lang-${language}`).setAttribute("aria-pressed", String(language === state.language));
  }
  renderLive();
  if (state.me) {
    renderUser();
    buildFilterOptions();
    buildCaseOptions();
    buildSubscriptionOptions();
  }
  if (state.picture) renderPicture({ announceNew: false });
  else renderStatus(null);
  if (state.subscriptions) renderSubscriptions();
  if (state.detail && state.detail.data) renderDetail();
  if (state.intake) renderIntake();
}

// -- sign-in --------------------------------------------------------------------------------------

/** A token handed over in the link (#token=...) is moved to sessionStorage and off the URL. */
function takeTokenFromFragment() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
  history.replaceState(history.state, "", location.pathname + location.search);
}

function showSignIn(messageKey) {
  $("signin-section").hidden = false;
  $("signin").hidden = false;
  $("room").hidden = true;
  $("signout").hidden = true;
  $("user-info").hidden = true;
  $("status-area").hidden = true;
  setError($("signin-error"), messageKey ? t(messageKey) : "");
  $("token-input").focus();
}

function showRoom() {
  $("signin-section").hidden = true;
  $("signin").hidden = true;
  $("room").hidden = false;
  $("signout").hidden = false;
  $("user-info").hidden = false;
  $("status-area").hidden = false;
  setError($("signin-error"), "");
}

async function onSignInSubmit(event) {
  event.preventDefault();
  const token = $("token-input").value.trim();
  if (!token) {
    setError($("signin-error"), t("signin.empty"));
    $("token-input").focus();
    return;
  }
  setError($("signin-error"), t("signin.checking"));
  sessionStorage.setItem(TOKEN_KEY, token);
  $("token-input").value = "";
  await enterRoom(true);
}

/** Check the stored token and, if it is good, load everything and go live. */
async function enterRoom(typed = false) {
  state.token = sessionStorage.getItem(TOKEN_KEY);
  if (!state.token) {
    showSignIn();
    return;
  }
  const session = state.session;
  try {
    const [me, reference] = await Promise.all([
      api("/api/me", { checking: true }), api("/api/reference", { checking: true }),
    ]);
    if (session !== state.session) return;
    state.me = me;
    state.permissions = new Set(me.permissions);
    state.reference = reference;
    state.areas = new Map(reference.areas.map((area) => [area.code, area]));
  } catch (err) {
    if (session !== state.session) return;
    if (err.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      state.token = null;
      showSignIn(typed ? "signin.invalid" : "signin.expired");
    } else {
      showSignIn();
      setError($("signin-error"), describeError(err));
    }
    return;
  }
  showRoom();
  applyLanguage();
  applyPermissions();
  readFiltersFromUrl();
  pictureRefresh.request(true);
  subscriptionsRefresh.request(true);
  connectStream();
  const id = alertIdFromPath();
  if (id) openAlert(id, { push: false });
}

function signOut(messageKey) {
  state.session += 1;
  sessionStorage.removeItem(TOKEN_KEY);
  stopStream();
  pictureRefresh.cancel();
  subscriptionsRefresh.cancel();
  detailRefresh.cancel();
  caseRefresh.cancel();
  Object.assign(state, {
    token: null, me: null, permissions: new Set(), reference: null, picture: null,
    subscriptions: null, waitingEmitted: [], newlyOpened: new Map(), freshUntil: new Map(),
    intake: null, intakeKey: null,
  });
  $("intake-result").hidden = true;
  $("intake-table").tBodies[0].replaceChildren();
  clearTimeout(state.announceTimer);
  state.announceTimer = null;
  if (state.detail) closeDetail({ push: false, restoreFocus: false });
  for (const id of ["places", "alerts"]) $(id).tBodies[0].replaceChildren();
  $("timeline").replaceChildren();
  $("subs-list").replaceChildren();
  // The next person starts from a clean page (an area filter may be outside their scope).
  for (const id of ["filters", "sub-form", "case-assign-form", "case-note-form", "case-link-form", "intake-form"]) $(id).reset();
  clearFilterError();
  for (const id of ["sub-error", "subs-status", "case-error", "case-status", "intake-error", "intake-status"]) setError($(id), "");
  renderStatus(null);
  setLive("off");
  showSignIn(messageKey);
}

function renderUser() {
  const me = state.me;
  const scope = me.scope === COUNTRY ? t("scope.country") : `${areaName(me.scope)} (${me.scope})`;
  $("user-line").textContent = t("user.line", { name: me.name, role: t(`role.${me.role}`), scope });
}

function isNational() {
  return state.me && state.me.scope === COUNTRY;
}

/** Show only the controls the user's role allows (the server checks again anyway). */
function applyPermissions() {
  const works = state.permissions.has("work_cases");
  $("case-forms").hidden = !works;
  $("case-readonly").hidden = works;
  const manages = state.permissions.has("manage_subscriptions");
  $("sub-form").hidden = !manages;
  $("subs-readonly").hidden = manages;
  $("sub-national-field").hidden = !isNational();
  // A national body (TEM, KEHA) has no own area: its subscriptions are national by default.
  $("sub-national").defaultChecked = isNational();
  $("sub-national").checked = isNational();
  $("sub-owner-field").hidden = !state.permissions.has("manage_others_subscriptions");
  const submits = state.permissions.has("submit_notices");
  $("intake").hidden = !submits;
  $("intake-nav").hidden = !submits;
}

// -- filters --------------------------------------------------------------------------------------

/** Rebuild a select's options, keeping what was chosen. */
function fillSelect(select, options) {
  const chosen = new Set(Array.from(select.selectedOptions, (option) => option.value));
  select.replaceChildren(...options);
  for (const option of select.querySelectorAll("option")) option.selected = chosen.has(option.value);
  if (!select.multiple && select.selectedIndex < 0 && select.options.length) select.selectedIndex = 0;
}

function option(value, text) {
  return h("option", { value, text });
}

function kinds() {
  return state.reference && state.reference.kinds.length ? state.reference.kinds : Object.keys(CODES.kind);
}

function buildFilterOptions() {
  const area = $("f-area").value;
  fillSelect($("f-area"), areaOptions());
  if (area && ensureAreaOption(area)) $("f-area").value = area;
  renderSavedViews();
  fillSelect($("f-kind"), [option("", t("f.kind.all")), ...kinds().map((k) => option(k, codeName("kind", k)))]);
  fillSelect($("f-polarity"), [
    option("", t("f.polarity.all")),
    ...POLARITIES.map((p) => option(p, `${POLARITY_SYMBOL[p]} ${codeName("polarity", p)}`)),
  ]);
  fillSelect($("f-severity"), [
    option("", t("f.severity.all")),
    ...SEVERITIES.map((s) => option(s, codeName("severity", s))),
  ]);
}

/** ELY areas with their regions (MK) under them; ELY staff get only their own ELY area. */
function areaOptions() {
  const me = state.me;
  const areas = state.reference.areas;
  const first = isNational()
    ? option("", t("f.area.all"))
    : option("", t("f.area.allOwn", { name: areaName(me.scope) }));
  const elys = areas
    .filter((a) => a.level === "ELY" && (isNational() || a.code === me.scope))
    .sort((a, b) => a.code.localeCompare(b.code));
  const groups = elys.map((ely) => {
    const regions = areas
      .filter((a) => a.level === "MK" && a.parent === ely.code)
      .sort((a, b) => a.code.localeCompare(b.code));
    const name = localized(ely.name);
    return h("optgroup", { label: t("f.area.elyGroup", { name }) }, [
      option(ely.code, t("f.area.ely", { name, code: ely.code })),
      ...regions.map((r) => option(r.code, t("f.area.region", { name: localized(r.name), code: r.code }))),
    ]);
  });
  return [first, ...groups];
}

function pictureQuery() {
  const params = new URLSearchParams();
  const add = (name, value) => { if (value) params.set(name, value); };
  add("area", $("f-area").value);
  add("sector", $("f-sector").value.trim().toUpperCase());
  add("occupation", $("f-occupation").value.trim());
  add("kind", $("f-kind").value);
  add("polarity", $("f-polarity").value);
  add("min_severity", $("f-severity").value);
  add("status", $("f-status").value || "open");
  return params.toString();
}

const FILTER_FIELDS = {
  area: "f-area", sector: "f-sector", occupation: "f-occupation", kind: "f-kind",
  polarity: "f-polarity", min_severity: "f-severity", status: "f-status",
};

function showFilterError(err) {
  setError($("filter-error"), describeError(err));
  const bad = new Set(invalidFields(err.detail));
  // A plain-sentence 422 (an unknown area) names no field: point at the area then.
  if (err.status === 422 && typeof err.detail === "string" && /\barea\b/.test(err.detail)) bad.add("area");
  for (const [name, id] of Object.entries(FILTER_FIELDS)) {
    if (bad.has(name)) $(id).setAttribute("aria-invalid", "true");
    else $(id).removeAttribute("aria-invalid");
  }
}

function clearFilterError() {
  setError($("filter-error"), "");
  for (const id of Object.values(FILTER_FIELDS)) $(id).removeAttribute("aria-invalid");
}

let typingTimer = null;

function onFilterChange() {
  clearTimeout(typingTimer);
  renderPlaceSelection();
  writeFiltersToUrl();
  pictureRefresh.request(true);
}

/** The filters live in the address (a view can be bookmarked, shared and reloaded). */
function writeFiltersToUrl() {
  const params = new URLSearchParams(pictureQuery());
  if (params.get("status") === "open") params.delete("status");
  const query = params.toString();
  const url = `${location.pathname}${query ? `?${query}` : ""}`;
  if (url !== `${location.pathname}${location.search}`) history.replaceState(history.state, "", url);
}

function readFiltersFromUrl(search = location.search) {
  const params = new URLSearchParams(search);
  for (const [name, id] of Object.entries(FILTER_FIELDS)) {
    const value = params.get(name) || (name === "status" ? "open" : "");
    if (name === "area" && value) ensureAreaOption(value);
    $(id).value = value;
  }
}

/** A sub-region or municipality chosen on the map becomes a choice in the area filter. */
function ensureAreaOption(code) {
  const select = $("f-area");
  if (Array.from(select.options).some((o) => o.value === code)) return true;
  const area = state.areas && state.areas.get(code);
  if (!area) return false;
  let group = select.querySelector("optgroup.drill");
  if (!group) {
    group = h("optgroup", { className: "drill", label: t("f.area.drill") });
    select.append(group);
  }
  group.append(option(code, `${localized(area.name)} (${code})`));
  return true;
}

function onFilterTyping() {
  clearTimeout(typingTimer);
  typingTimer = setTimeout(onFilterChange, TYPING_DELAY_MS);
}

function chooseArea(code) {
  // The country row means "everything I may see": no area parameter.
  const value = code === COUNTRY ? "" : code;
  const select = $("f-area");
  if (value && !ensureAreaOption(value)) return; // not an area of the hierarchy
  select.value = value;
  onFilterChange();
}

// -- the picture ----------------------------------------------------------------------------------

const pictureRefresh = coalesced(loadPicture);

async function loadPicture() {
  if (!state.me) return;
  const session = state.session;
  const query = pictureQuery();
  // Stream messages that arrived before this request are answered by it.
  const measuring = state.waitingEmitted;
  state.waitingEmitted = [];
  let picture;
  try {
    picture = await api(`/api/picture?${query}`);
  } catch (err) {
    if (session !== state.session || err.status === 401) return;
    showFilterError(err);
    return;
  }
  if (session !== state.session) return;
  if (query !== pictureQuery()) {
    // The filters changed meanwhile: this answer is stale, fetch again.
    state.waitingEmitted.push(...measuring);
    pictureRefresh.request(true);
    return;
  }
  state.picture = picture;
  clearFilterError();
  renderPicture({ announceNew: true });
  recordLatencies(measuring);
}

function recordLatencies(emittedTimes) {
  const now = Date.now();
  for (const emitted of emittedTimes) metrics.latencies.push(now - emitted);
  if (metrics.latencies.length > MAX_LATENCIES) metrics.latencies.splice(0, metrics.latencies.length - MAX_LATENCIES);
}

function renderPicture({ announceNew }) {
  const picture = state.picture;
  renderStatus(picture.status);
  renderCounts(picture.counts);
  renderPlaces(picture.places);
  showContext($("area-context"), contextArea());
  drawMap();
  renderAlerts(picture.alerts, picture.total);
  renderTimeline(picture.timeline);
  if (announceNew) announceOpened();
  metrics.ready = Boolean(picture.status.ready);
  if (metrics.firstRenderMs === null || (picture.status.ready && !state.sawReadyPicture)) {
    metrics.firstRenderMs = performance.now();
  }
  if (picture.status.ready) state.sawReadyPicture = true;
}

function renderStatus(status) {
  const element = $("status");
  const text = $("status-text");
  const errorBox = $("status-error");
  if (!status) {
    element.dataset.ready = "false";
    text.textContent = t("status.loading");
    $("as-of").textContent = "";
    errorBox.replaceChildren();
    return;
  }
  element.dataset.ready = String(Boolean(status.ready));
  if (status.ready) setText(text, t("status.ready"));
  else if (status.detail) setText(text, t("status.notReady", { detail: status.detail }));
  else setText(text, t("status.notReadyNoDetail"));
  setText($("as-of"), status.as_of ? t("status.asOf", { date: fmtDate(status.as_of) }) : t("status.asOfNone"));
  const problems = [];
  if (status.error) problems.push(h("p", { text: t("status.error", { error: status.error }) }));
  if (status.dead_letters) problems.push(h("p", { text: tn("status.deadLetters", status.dead_letters) }));
  // Only touch the alert box when its text changes, so it is not announced on every refresh.
  const before = errorBox.textContent;
  const after = problems.map((p) => p.textContent).join("");
  if (before !== after) errorBox.replaceChildren(...problems);
}

function renderCounts(counts) {
  // Plain digits: the tests (and people across the room) read these as numbers.
  $("count-negative").textContent = String(counts.negative);
  $("count-positive").textContent = String(counts.positive);
  const parts = ["critical", "strong", "warning", "notable", "watch"].map((severity) =>
    h("span", { className: `sev-count sev-${severity}` }, [
      severityBadge(severity), " ", fmtInt(counts.by_severity[severity] || 0),
    ]),
  );
  $("count-severity").replaceChildren(...parts);
}

/** A severity as symbol and word; compact: the word only for screen readers (and on hover). */
function severityBadge(severity, compact = false) {
  if (!severity) return h("span", { className: "muted", text: t("places.none") });
  const name = codeName("severity", severity);
  return h("span", { className: `badge sev sev-${severity}`, title: compact ? name : null }, [
    h("span", { className: "symbol", "aria-hidden": "true", text: SEVERITY_SYMBOL[severity] || "" }),
    " ",
    h("span", { className: compact ? "visually-hidden" : null, text: name }),
  ]);
}

function polarityBadge(polarity) {
  return h("span", { className: `badge pol pol-${polarity}` }, [
    h("span", { className: "symbol", "aria-hidden": "true", text: POLARITY_SYMBOL[polarity] || "" }),
    " ",
    codeName("polarity", polarity),
  ]);
}

function drawMap() {
  const container = $("map");
  if (!container || !state.picture) return;
  loadGeometry().then((geometry) => {
    if (!geometry || !state.picture) return;
    keepingFocus(container, () => renderMap(container, {
      alerts: state.picture.alerts,
      areas: state.areas,
      selected: $("f-area").value,
      layer: state.mapLayer,
      name: areaName,
      label: t,
      choose: (code) => chooseArea(code === $("f-area").value ? parentArea(code) : code),
    }));
    for (const path of container.querySelectorAll("path[data-area]")) path.dataset.focusKey = `map:${path.dataset.area}`;
    $("map-up").hidden = !$("f-area").value;
    $("map-layers").hidden = Boolean($("f-area").value);
    for (const layer of ["regions", "ely"]) {
      $(`map-layer-${layer}`).setAttribute("aria-pressed", String(state.mapLayer === layer));
    }
    setText($("map-attribution"), t("map.attribution"));
  });
}

/** One level up: municipality -> region -> ELY area -> the whole country. */
function parentArea(code) {
  const area = state.areas.get(code);
  return area && area.parent ? area.parent : COUNTRY;
}

// -- briefings: export and the printable situation report ----------------------------------------

async function exportView(format) {
  const query = `${pictureQuery()}&format=${format}&lang=${state.language}`;
  const response = await fetch(`/api/export?${query}`, {
    headers: { Authorization: `Bearer ${state.token}` }, cache: "no-store",
  });
  if (!response.ok) {
    setError($("filter-error"), t("export.failed"));
    return;
  }
  const blob = await response.blob();
  if (format === "csv") metrics.lastExport = await blob.text();
  const link = h("a", {
    href: URL.createObjectURL(blob),
    download: `muutostutka-${new Date().toISOString().slice(0, 10)}.${format}`,
  });
  document.body.append(link);
  link.click();
  link.remove();
  announce(t("export.done"));
}

/** The situation report as a PDF made on the server, for the view on screen. */
async function exportPdf() {
  const query = `${pictureQuery()}&lang=${state.language}`;
  const response = await fetch(`/api/report.pdf?${query}`, {
    headers: { Authorization: `Bearer ${state.token}` }, cache: "no-store",
  });
  if (!response.ok) {
    setError($("filter-error"), t("export.failed"));
    return;
  }
  const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  const blob = await response.blob();
  metrics.lastPdf = { name: named ? named[1] : "muutostutka.pdf", bytes: blob.size, query };
  const link = h("a", { href: URL.createObjectURL(blob), download: metrics.lastPdf.name });
  document.body.append(link);
  link.click();
  link.remove();
  announce(t("export.done"));
}

const BRIEFING_ALERTS = 12;

/** The situation report: the map, the largest changes and their explanations, one per page. */
function buildBriefing() {
  const picture = state.picture;
  const root = $("briefing");
  if (!picture) return root;
  const filters = describeFilters();
  const map = $("map").querySelector("svg");
  const head = h("section", { className: "brief-cover" }, [
    h("h1", { text: t("brief.title") }),
    h("p", { text: t("brief.asOf", { date: fmtDateTime(new Date().toISOString()) }) }),
    h("p", { text: filters }),
    h("p", { text: t("brief.counts", { negative: picture.counts.negative, positive: picture.counts.positive }) }),
    map ? h("div", { className: "brief-map" }, [map.cloneNode(true)]) : h("p"),
    h("p", { className: "brief-attribution", text: t("map.attribution") }),
  ]);
  const sections = picture.alerts.slice(0, BRIEFING_ALERTS).map((alert, i) => h("section", {
    className: "brief-alert", dataset: { alertId: alert.id },
  }, [
    h("h2", { text: `${i + 1}. ${codeName("kind", alert.kind)} · ${localized(alert.area_name)} (${alert.area})` }),
    h("p", { className: "brief-facts", text: [
      codeName("severity", alert.severity), codeName("polarity", alert.polarity),
      alert.impact ? t("brief.impact", { n: fmtInt(alert.impact) }) : "",
      alert.labour_share != null ? t("brief.share", { pct: (alert.labour_share * 100).toFixed(1) }) : "",
      t("brief.opened", { period: fmtPeriod(alert.opened_period) }),
    ].filter(Boolean).join(" · ") }),
    h("p", { className: "brief-explanation", text: localized(alert.explanation) }),
    briefChart(state.contexts.get(contextKey(alert.area))),
  ]));
  root.replaceChildren(head, ...sections);
  return root;
}

/** The contexts of the report's areas, fetched (once per data date) for its charts. */
async function briefingContexts() {
  if (!state.picture) return;
  const areas = new Set(state.picture.alerts.slice(0, BRIEFING_ALERTS).map((a) => a.area));
  await Promise.all([...areas].map((code) => fetchContext(code).catch(() => null)));
}

/** An alert's area on paper: its 24 months and the latest figures. */
function briefChart(context) {
  if (!context || context.level === null) return null;
  const figures = [
    `${t("context.level")} ${fmtInt(context.level)} (${fmtPeriod(context.period)})`,
    context.rate === null ? "" : `${t("context.rate")} ${fmtPercent(context.rate)}`,
    context.year_change === null ? "" : `${t("context.yoy")} ${fmtSigned(context.year_change)}`,
  ].filter(Boolean).join(" · ");
  return h("div", { className: "brief-chart", dataset: { area: context.area } }, [
    sparkline(context.sparkline, 480, 90),
    h("p", { className: "brief-figures", text: figures }),
  ]);
}

function describeFilters() {
  const parts = [];
  for (const [name, id] of Object.entries(FILTER_FIELDS)) {
    const element = $(id);
    if (!element.value || (name === "status" && element.value === "open")) continue;
    const text = element.tagName === "SELECT" ? element.selectedOptions[0].textContent : element.value;
    parts.push(`${document.querySelector(`label[for="${id}"]`).textContent}: ${text}`);
  }
  return parts.length ? parts.join("; ") : t("brief.allOpen");
}

// -- saved views (per user, in this browser) --------------------------------------------------------

function viewsKey() {
  return `tutka.room.views.${state.me ? state.me.name : ""}`;
}

function savedViews() {
  try {
    const views = JSON.parse(localStorage.getItem(viewsKey()) || "[]");
    return Array.isArray(views) ? views.filter((v) => v && typeof v.name === "string") : [];
  } catch (err) {
    return [];
  }
}

function renderSavedViews() {
  const views = savedViews();
  fillSelect($("views-list"), [
    option("", t("views.choose")),
    ...views.map((v) => option(v.name, v.name)),
  ]);
}

function saveView() {
  const name = $("views-name").value.trim();
  if (!name) {
    $("views-name").focus();
    return;
  }
  const views = savedViews().filter((v) => v.name !== name);
  views.push({ name, query: location.search });
  localStorage.setItem(viewsKey(), JSON.stringify(views.slice(-20)));
  $("views-name").value = "";
  renderSavedViews();
  $("views-list").value = name;
  announce(t("views.saved", { name }));
}

function applySavedView() {
  const view = savedViews().find((v) => v.name === $("views-list").value);
  if (!view) return;
  readFiltersFromUrl(view.query);
  onFilterChange();
}

async function printBriefing() {
  await briefingContexts();
  buildBriefing();
  window.print();
}

function selectedArea() {
  return $("f-area").value || COUNTRY;
}

function renderPlaces(places) {
  const body = $("places").tBodies[0];
  keepingFocus(body, () => {
    body.replaceChildren(...places.map(placeRow));
  });
  renderPlaceSelection();
}

function placeRow(place) {
  const country = place.area === COUNTRY;
  const name = country && !isNational() ? t("f.area.allOwn", { name: areaName(state.me.scope) }) : localized(place.name);
  const button = h("button", {
    type: "button", className: "link-button place-button", dataset: { focusKey: `place:${place.area}` },
  }, [name, " ", h("span", { className: "code", text: place.area })]);
  button.addEventListener("click", () => chooseArea(place.area));
  const level = String(place.level || "").toLowerCase();
  return h("tr", { className: `level-${level}`, dataset: { area: place.area, level } }, [
    h("th", { scope: "row" }, [button]),
    h("td", { className: "num", text: fmtInt(place.negative) }),
    h("td", { className: "num", text: fmtInt(place.positive) }),
    h("td", {}, [severityBadge(place.worst, true)]),
  ]);
}

function renderPlaceSelection() {
  const chosen = selectedArea();
  for (const row of $("places").tBodies[0].rows) {
    const button = row.querySelector("button");
    if (row.dataset.area === chosen) {
      row.classList.add("selected");
      button.setAttribute("aria-current", "true");
    } else {
      row.classList.remove("selected");
      button.removeAttribute("aria-current");
    }
  }
}

// -- the area's context --------------------------------------------------------------------------

/** The area the places panel describes: the chosen one, or the user's own area. */
function contextArea() {
  const chosen = selectedArea();
  return chosen === COUNTRY && !isNational() ? state.me.scope : chosen;
}

function contextKey(code) {
  const asOf = state.picture && state.picture.status ? state.picture.status.as_of : "";
  return `${code}|${asOf || ""}`;
}

/** Shows the area's context in ``container``: from the cache, else fetched. */
async function showContext(container, code) {
  if (!state.me || !code) return;
  const key = contextKey(code);
  if (container.dataset.area !== code) {
    container.dataset.area = code;
    container.replaceChildren(h("p", { className: "muted", text: t("context.loading") }));
  }
  const known = state.contexts.get(key);
  if (known) {
    renderContext(container, known);
    return;
  }
  const session = state.session;
  try {
    const data = await fetchContext(code);
    if (session !== state.session || !data) return;
    if (container.dataset.area === code) renderContext(container, data);
  } catch (err) {
    if (session !== state.session || container.dataset.area !== code || err.status === 401) return;
    container.replaceChildren(h("p", { className: "error", text: describeError(err) }));
  }
}

/** The area's context, from the cache (per data date) or the API. */
async function fetchContext(code) {
  const key = contextKey(code);
  const known = state.contexts.get(key);
  if (known) return known;
  const session = state.session;
  const data = await api(`/api/areas/${encodeURIComponent(code)}/context`);
  if (session !== state.session) return null;
  if (state.contexts.size > 200) state.contexts.clear();
  state.contexts.set(key, data);
  return data;
}

function fmtSigned(value) {
  if (value === null || value === undefined) return "–";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 0, signDisplay: "exceptZero" }).format(value);
}

function fmtPercent(value, signed = false) {
  if (value === null || value === undefined) return "–";
  return new Intl.NumberFormat(locale(), {
    style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: signed ? "exceptZero" : "auto",
  }).format(value);
}

function renderContext(container, data) {
  container.dataset.period = data.period || "";
  if (data.level === null) {
    container.replaceChildren(h("p", { className: "empty", text: t("context.none") }));
    return;
  }
  const fact = (name, label, value, text, note) => [
    h("dt", { text: label }),
    h("dd", { dataset: { fact: name, value: value === null ? "" : String(value) } }, [
      h("span", { className: "context-value", text }),
      note ? h("span", { className: "muted context-note", text: ` ${note}` }) : null,
    ]),
  ];
  const facts = [
    ...fact("level", t("context.level"), data.level, fmtInt(data.level), null),
    ...(data.rate === null ? [] : fact("rate", t("context.rate"), data.rate, fmtPercent(data.rate), null)),
    ...fact("year_change", t("context.yoy"), data.year_change, fmtSigned(data.year_change),
      data.year_change_pct === null ? null : `(${fmtPercent(data.year_change_pct, true)})`),
    ...fact("month_change", t("context.mom"), data.month_change, fmtSigned(data.month_change),
      data.previous_period ? `(${fmtPeriod(data.previous_period, true)})` : null),
  ];
  const alerts = t("context.alerts", { opened: fmtInt(data.opened.length), updated: fmtInt(data.updated.length) });
  container.replaceChildren(
    h("p", { className: "context-title", text: t("context.title", { area: `${localized(data.name)} (${data.area})`, period: fmtPeriod(data.period) }) }),
    sparkline(data.sparkline),
    h("dl", { className: "facts context-facts" }, facts),
    h("p", { className: "context-alerts", dataset: { opened: data.opened.length, updated: data.updated.length }, text: alerts }),
  );
}

/** The last 24 months as a small inline SVG line, with the latest point marked. */
function sparkline(points, width = 240, height = 44) {
  const pad = 4;
  const label = t("context.spark");
  if (points.length < 2) return h("p", { className: "muted", text: label });
  const values = points.map((p) => p.value);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const first = periodIndex(points[0].period);
  const span = Math.max(1, periodIndex(points[points.length - 1].period) - first);
  const x = (p) => pad + ((periodIndex(p.period) - first) / span) * (width - 2 * pad);
  const y = (p) => (hi === lo ? height / 2 : pad + (1 - (p.value - lo) / (hi - lo)) * (height - 2 * pad));
  const last = points[points.length - 1];
  const described = `${label}: ${fmtPeriod(points[0].period, true)} ${fmtInt(points[0].value)}, ` +
    `${fmtPeriod(last.period, true)} ${fmtInt(last.value)}`;
  return svg("svg", {
    class: "sparkline", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": described,
    "data-points": points.length,
  }, [
    svg("title", { text: described }),
    svg("polyline", { points: points.map((p) => `${x(p).toFixed(1)},${y(p).toFixed(1)}`).join(" "), fill: "none" }),
    svg("circle", { cx: x(last).toFixed(1), cy: y(last).toFixed(1), r: 3 }),
  ]);
}

function renderAlerts(alerts, total) {
  const body = $("alerts").tBodies[0];
  const now = Date.now();
  for (const [id, until] of state.freshUntil) if (until < now) state.freshUntil.delete(id);
  keepingFocus(body, () => {
    body.replaceChildren(...alerts.map(alertRow));
  });
  setText($("alerts-total"), `${alerts.length} / ${total}`);
  $("alerts-total").setAttribute("title", t("alerts.totalLabel", { shown: alerts.length, total }));
  $("alerts-empty").hidden = alerts.length > 0;
  markOpenRow();
}

function alertRow(alert) {
  const caseSummary = alert.case;
  const acknowledged = Boolean(caseSummary && caseSummary.acknowledged_by);
  const open = h("button", {
    type: "button", className: "link-button open-alert", dataset: { focusKey: `alert:${alert.id}` },
  }, [h("span", { className: "visually-hidden", text: `${t("alerts.open")}: ` }), codeName("kind", alert.kind)]);
  open.addEventListener("click", (event) => {
    event.stopPropagation();
    openAlert(alert.id, { opener: open });
  });
  const row = h("tr", {
    className: (state.freshUntil.get(alert.id) || 0) > Date.now() ? "fresh" : null,
    dataset: {
      alertId: alert.id, acknowledged: String(acknowledged), severity: alert.severity,
      polarity: alert.polarity, kind: alert.kind, area: alert.area, status: alert.status,
    },
  }, [
    h("td", {}, [severityBadge(alert.severity), statusNote(alert)]),
    h("td", {}, [polarityBadge(alert.polarity)]),
    h("td", {}, [open]),
    h("td", {}, [localized(alert.area_name), " ", h("span", { className: "code", text: alert.area })]),
    h("td", {}, sectorOccupation(alert)),
    h("td", { className: "nowrap", text: fmtPeriod(alert.opened_period, true) }),
    h("td", { className: "nowrap", text: fmtDate(alert.available_on) }),
    h("td", {}, caseBadges(caseSummary)),
  ]);
  // The whole row is a (mouse) target too; keyboard users have the button.
  row.addEventListener("click", () => openAlert(alert.id, { opener: open }));
  return row;
}

/** Open alerts are the usual case: only other statuses get a word under the severity. */
function statusNote(alert) {
  if (alert.status === "open") return null;
  return h("span", { className: `status-note status-${alert.status}`, text: codeName("status", alert.status) });
}

function sectorOccupation(alert) {
  const parts = [];
  if (alert.sector) {
    const names = state.reference && state.reference.sectors[alert.sector];
    parts.push(h("span", { className: "code", text: alert.sector }));
    if (names) parts.push(" ", h("span", { className: "sector-name", text: localized(names) }));
  }
  if (alert.occupation) {
    if (parts.length) parts.push(h("br"));
    parts.push(h("span", { className: "code", text: `ISCO ${alert.occupation}` }));
  }
  return parts.length ? parts : [h("span", { className: "muted", text: "–" })];
}

function caseBadges(summary) {
  if (!summary) return [h("span", { className: "muted" }, [h("span", { "aria-hidden": "true", text: "–" }), h("span", { className: "visually-hidden", text: t("case.badge.notAck") })])];
  const badges = [];
  if (summary.acknowledged_by) {
    badges.push(h("span", { className: "badge case-ack", title: summary.acknowledged_by }, [
      h("span", { "aria-hidden": "true", text: "✓ " }), t("case.badge.ack"),
    ]));
  } else {
    badges.push(h("span", { className: "badge case-unack", text: t("case.badge.notAck") }));
  }
  if (summary.assignee) badges.push(h("span", { className: "badge case-assignee", text: t("case.badge.assigned", { name: summary.assignee }) }));
  if (summary.assessment) badges.push(h("span", { className: `badge case-assessment assessment-${summary.assessment}`, text: codeName("assessment", summary.assessment) }));
  return badges;
}

function renderTimeline(entries) {
  const list = $("timeline");
  keepingFocus(list, () => {
    list.replaceChildren(...entries.map(timelineItem));
  });
  $("timeline-empty").hidden = entries.length > 0;
}

function timelineItem(entry) {
  const button = h("button", {
    type: "button", className: "link-button",
    dataset: { focusKey: `timeline:${entry.alert_id}:${entry.sequence}:${entry.change}` },
  }, [
    h("span", { className: "change-word" }, [
      h("span", { "aria-hidden": "true", text: `${CHANGE_SYMBOL[entry.change] || "•"} ` }),
      codeName("change", entry.change),
    ]),
    ": ",
    t("timeline.entry", { kind: codeName("kind", entry.kind), area: localized(entry.area_name) }),
  ]);
  button.addEventListener("click", () => openAlert(entry.alert_id, { opener: button }));
  return h("li", {
    className: `change-${entry.change}`,
    dataset: { alertId: entry.alert_id, change: entry.change, severity: entry.severity },
  }, [
    button,
    h("span", { className: "timeline-meta" }, [
      severityBadge(entry.severity), " ", polarityBadge(entry.polarity), " ",
      h("span", { text: fmtPeriod(entry.period, true) }), " · ",
      // Event time: when the data became available (the arrival time is on hover).
      h("time", { datetime: entry.available_on, text: fmtDate(entry.available_on), title: fmtDateTime(entry.received) }),
    ]),
  ]);
}

/**
 * Tell screen-reader users about alerts opened since the last announcement. During a fast
 * replay many open at once: they are announced at most every few seconds, as a count with
 * the most severe one named, so the live region does not chatter. Only alerts the current
 * picture shows are announced (the user's filters apply); one the picture does not show yet
 * waits for the next picture for a moment.
 */
function announceOpened() {
  if (!state.newlyOpened.size || state.announceTimer || !state.picture) return;
  const wait = state.lastAnnounced + ANNOUNCE_INTERVAL_MS - Date.now();
  if (wait > 0) {
    state.announceTimer = setTimeout(() => {
      state.announceTimer = null;
      announceOpened();
    }, wait);
    return;
  }
  const picture = state.picture;
  const now = Date.now();
  const known = [];
  for (const [id, added] of state.newlyOpened) {
    const alert = picture.alerts.find((a) => a.id === id) || picture.timeline.find((e) => e.alert_id === id);
    if (alert) known.push(alert);
    if (alert || now - added > ANNOUNCE_INTERVAL_MS) state.newlyOpened.delete(id);
  }
  if (!known.length) return;
  state.lastAnnounced = now;
  known.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]);
  const sentence = (alert) => t("live.newAlert", {
    kind: codeName("kind", alert.kind), area: localized(alert.area_name), severity: codeName("severity", alert.severity),
  });
  if (known.length > MAX_ANNOUNCED) announce(`${tn("live.newAlerts", known.length)}. ${sentence(known[0])}`);
  else announce(known.map(sentence).join(". "));
}

// -- the alert detail -----------------------------------------------------------------------------

const detailRefresh = coalesced(loadDetail);
const caseRefresh = coalesced(loadCase);

function alertIdFromPath() {
  const match = ALERT_PATH.exec(location.pathname);
  return match ? decodeURIComponent(match[1]) : null;
}

function openAlert(id, { push = true, opener = null } = {}) {
  const panel = $("detail");
  const same = state.detail && state.detail.id === id;
  const previousOpener = state.detail ? state.detail.opener : null;
  state.detail = {
    id,
    data: same ? state.detail.data : null,
    // Switching alerts with the panel open: focus still returns to where it was first opened.
    opener: previousOpener || opener || document.activeElement,
  };
  panel.hidden = false;
  panel.dataset.alertId = id;
  if (!same) {
    $("detail-body").hidden = true;
    $("detail-loading").hidden = false;
    $("detail-heading").textContent = t("detail.label");
    setError($("detail-error"), "");
    clearCaseForms();
  }
  if (push && location.pathname !== `/alerts/${id}`) history.pushState({ alert: id }, "", `/alerts/${encodeURIComponent(id)}${location.search}`);
  markOpenRow();
  $("detail-heading").focus();
  detailRefresh.request(true);
}

function closeDetail({ push = true, restoreFocus = true } = {}) {
  if (!state.detail) return;
  const { id, opener } = state.detail;
  state.detail = null;
  detailRefresh.cancel();
  caseRefresh.cancel();
  const panel = $("detail");
  panel.hidden = true;
  panel.dataset.alertId = "";
  if (push && location.pathname !== "/") history.pushState({}, "", `/${location.search}`);
  markOpenRow();
  if (!restoreFocus) return;
  // The opener may have been re-rendered since: fall back to the same alert's button.
  const target = opener && opener.isConnected && opener !== document.body ? opener
    : document.querySelector(`#alerts tr[data-alert-id="${CSS.escape(id)}"] button.open-alert`) || $("alerts-heading");
  if (target === $("alerts-heading")) target.setAttribute("tabindex", "-1");
  target.focus();
}

function markOpenRow() {
  const id = state.detail ? state.detail.id : null;
  for (const row of $("alerts").tBodies[0].rows) row.classList.toggle("is-open", row.dataset.alertId === id);
}

function onPopState() {
  if (!state.me) return;
  const id = alertIdFromPath();
  if (id) {
    if (!state.detail || state.detail.id !== id) openAlert(id, { push: false });
  } else if (state.detail) {
    closeDetail({ push: false });
  }
}

async function loadDetail() {
  const detail = state.detail;
  if (!detail || !state.me) return;
  const { id } = detail;
  const session = state.session;
  try {
    const data = await api(`/api/alerts/${encodeURIComponent(id)}`);
    if (session !== state.session || !state.detail || state.detail.id !== id) return;
    state.detail.data = data;
    setError($("detail-error"), "");
    renderDetail();
  } catch (err) {
    if (session !== state.session || !state.detail || state.detail.id !== id || err.status === 401) return;
    $("detail-loading").hidden = true;
    setError($("detail-error"), describeError(err));
  }
}

async function loadCase() {
  const detail = state.detail;
  if (!detail || !detail.data) return;
  const { id } = detail;
  const session = state.session;
  try {
    const caseData = await api(`/api/alerts/${encodeURIComponent(id)}/case`);
    if (session !== state.session || !state.detail || state.detail.id !== id || !state.detail.data) return;
    state.detail.data.case = caseData;
    renderCase();
  } catch (err) {
    if (session === state.session && err.status !== 401) setError($("case-error"), describeError(err));
  }
}

function renderDetail() {
  const { alert, chart } = state.detail.data;
  // Keep disclosures the user opened open across re-renders (live updates, language).
  const body = $("detail-body");
  const opened = new Set(Array.from(body.querySelectorAll("details[open]"), (d) => d.dataset.key));
  $("detail-loading").hidden = true;
  $("detail-body").hidden = false;
  $("detail-heading").textContent = t("detail.heading", {
    kind: codeName("kind", alert.kind), area: `${localized(alert.area_name)} (${alert.area})`,
  });
  $("detail-badges").replaceChildren(
    severityBadge(alert.severity), polarityBadge(alert.polarity),
    h("span", { className: `badge status status-${alert.status}`, text: codeName("status", alert.status) }),
  );
  renderExplanation(alert.explanation);
  renderStory(alert);
  renderFacts(alert);
  showContext($("detail-context"), alert.area);
  renderChart(chart, alert);
  renderEvidence(alert.evidence);
  renderNotices(alert);
  renderHistory(alert.history);
  renderCase();
  for (const details of body.querySelectorAll("details")) if (opened.has(details.dataset.key)) details.open = true;
}

function renderExplanation(explanation) {
  const others = LANGUAGES.filter((language) => language !== state.language);
  $("detail-explanation").replaceChildren(
    h("p", { className: "explanation-main", lang: state.language, text: explanation[state.language] || "" }),
    h("details", { dataset: { key: "explanation" } }, [
      h("summary", { text: t("detail.otherLanguages") }),
      ...others.map((language) => h("p", { lang: language }, [
        h("span", { className: "lang-tag", text: `${language.toUpperCase()}: ` }), explanation[language] || "",
      ])),
    ]),
  );
}

/** The notices' story (status, class, its explanation) or a policy trigger's criterion. */
function renderStory(alert) {
  const story = alert.story;
  const trigger = alert.trigger;
  const parts = [];
  if (story) {
    const status = story.status ? codeName("story", story.status) : "—";
    parts.push(h("p", { className: "story-line" }, [
      h("strong", { text: `${t("story.status")}: ` }), h("span", { className: `badge story-${story.status || "none"}`, text: status }),
      " · ",
      h("strong", { text: `${t("story.class")}: ` }), h("span", { className: `badge class-${story.change_class}`, text: codeName("change_class", story.change_class) }),
      ` (${localized(story.class_evidence)})`,
    ]));
    parts.push(h("p", { lang: state.language, text: localized(story.explanation) }));
  }
  if (trigger) {
    parts.push(h("p", { className: "story-line" }, [
      h("strong", { text: `${t("trigger.criterion")}: ` }), localized(trigger.criterion), ` — ${trigger.source}`,
    ]));
  }
  const container = $("detail-explanation");
  for (const p of parts) container.append(p);
}

function renderFacts(alert) {
  const none = t("detail.none");
  const sectorNames = alert.sector && state.reference ? state.reference.sectors[alert.sector] : null;
  const facts = [
    ["detail.kind", codeName("kind", alert.kind)],
    ["detail.polarity", codeName("polarity", alert.polarity)],
    ["detail.severity", codeName("severity", alert.severity)],
    ["detail.status", codeName("status", alert.status)],
    ["detail.area", `${localized(alert.area_name)} (${alert.area})`],
    ["detail.ely", alert.ely ? `${areaName(alert.ely)} (${alert.ely})` : none],
    ["detail.sector", alert.sector ? (sectorNames ? `${alert.sector} – ${localized(sectorNames)}` : alert.sector) : none],
    ["detail.occupation", alert.occupation || none],
    ["detail.opened", fmtPeriod(alert.opened_period)],
    ["detail.period", fmtPeriod(alert.period)],
    ["detail.resolved", alert.resolved_period ? fmtPeriod(alert.resolved_period) : none],
    alert.resolution ? ["detail.resolution", codeName("resolution", alert.resolution)] : null,
    ["detail.available", fmtDate(alert.available_on)],
    alert.notice_count ? ["detail.noticesSummary", [
      tn("detail.notices", alert.notice_count), tn("detail.persons", alert.notice_persons),
    ].join(", ")] : null,
    alert.also_in && alert.also_in.length
      ? ["detail.alsoIn", alert.also_in.map((code) => `${areaName(code)} (${code})`).join(", ")] : null,
    ["detail.id", alert.id],
  ].filter(Boolean);
  $("detail-facts").replaceChildren(...facts.flatMap(([key, value]) => [
    h("dt", { text: t(key) }), h("dd", { text: value }),
  ]));
}

function renderEvidence(evidence) {
  const rows = evidence.map((e) => h("tr", {}, [
    h("td", { title: e.detector, text: codeName("detector", e.detector) }),
    h("td", { className: "nowrap", text: fmtPeriod(e.period, true) }),
    h("td", { className: "num", text: fmtNumber(e.value) }),
    h("td", { className: "num", text: fmtNumber(e.baseline) }),
    h("td", { className: "num", text: fmtScore(e.score) }),
    h("td", { className: "num", text: fmtScore(e.threshold) }),
    h("td", { className: "nowrap", text: e.once_in_years == null ? "" : t("evidence.rarityValue", { years: fmtInt(Math.round(e.once_in_years)) }) }),
  ]));
  if (!rows.length) rows.push(h("tr", {}, [h("td", { colspan: 7, className: "empty", text: t("evidence.none") })]));
  $("detail-evidence").tBodies[0].replaceChildren(...rows);
}

function renderNotices(alert) {
  const notices = alert.notices || [];
  $("detail-notices").tBodies[0].replaceChildren(...notices.map((n) => h("tr", {}, [
    h("td", { text: n.employer }),
    h("td", { className: "nowrap", text: n.business_id }),
    h("td", {}, [areaName(n.municipality), " ", h("span", { className: "code", text: n.municipality })]),
    h("td", { text: codeName("noticeKind", n.kind) }),
    h("td", { className: "num", text: fmtInt(n.persons) }),
    h("td", { className: "nowrap", text: fmtDate(n.announced) }),
    h("td", { className: "nowrap", text: fmtDate(n.effective_from) }),
  ])));
  $("detail-notices").hidden = notices.length === 0;
  $("detail-no-notices").hidden = notices.length > 0;
  const note = $("detail-notices-note");
  const partial = notices.length > 0 && alert.notice_count > notices.length;
  note.hidden = !partial;
  note.textContent = partial ? t("notices.partial", { shown: fmtInt(notices.length), count: fmtInt(alert.notice_count) }) : "";
}

/** History entries, with "escalated" told apart from other updates by the severity. */
function renderHistory(history) {
  let previous = null;
  const items = history.map((entry) => {
    let change = entry.status === "open" ? "opened" : entry.status;
    if (entry.status === "updated" && previous && SEVERITY_RANK[entry.severity] > SEVERITY_RANK[previous.severity]) {
      change = "escalated";
    }
    previous = entry;
    return h("li", { className: `change-${change}`, dataset: { change } }, [
      h("span", { "aria-hidden": "true", text: `${CHANGE_SYMBOL[change] || "•"} ` }),
      t("history.entry", {
        period: fmtPeriod(entry.period), change: codeName("change", change), severity: codeName("severity", entry.severity),
      }),
      entry.note ? historyNote(entry.note) : null,
    ]);
  });
  if (!items.length) items.push(h("li", { className: "empty", text: t("history.none") }));
  $("detail-history").replaceChildren(...items);
}

/** A history note: a resolution code is translated; other notes come in English only. */
function historyNote(note) {
  if (CODES.resolution[note]) return h("span", { className: "history-note", text: ` (${codeName("resolution", note)})` });
  return h("span", { className: "history-note", lang: "en", text: ` (${note})` });
}

// -- the evidence chart ---------------------------------------------------------------------------

const CHART = { width: 720, height: 300, top: 16, right: 20, bottom: 40, left: 72 };

/** Round tick values for an axis from lo to hi. */
function niceTicks(lo, hi, count = 5) {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * magnitude).find((s) => s >= raw) || raw;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function renderChart(chart, alert) {
  const container = $("detail-chart");
  const values = chart.values || [];
  const expected = chart.expected || [];
  const signals = chart.signals || [];
  if (!values.length && !signals.length) {
    container.replaceChildren(h("p", { className: "empty", text: t("chart.none") }));
    return;
  }
  const measure = chart.measure ? codeName("measure", chart.measure) : codeName("kind", alert.kind);
  const title = t("chart.title", { measure, area: localized(alert.area_name) });

  // Horizontal extent: every point, the opening and the resolution.
  const opened = periodIndex(chart.opened_period);
  const indices = [...values, ...expected, ...signals].map((p) => periodIndex(p.period)).concat(opened);
  const lastData = Math.max(...[...values, ...signals].map((p) => periodIndex(p.period)));
  const bandEnd = chart.resolved_period ? periodIndex(chart.resolved_period) : Math.max(lastData, opened);
  indices.push(bandEnd);
  // Some room on both sides, so that the first and last points and labels are not clipped.
  const pad = Math.max(...indices) - Math.min(...indices) < 12 ? 1 : 0.5;
  const xMin = Math.min(...indices) - pad;
  const xMax = Math.max(...indices) + pad;

  // The notices' expected footprint, as a band over the expected level (or from zero on a notice alert).
  const footprint = footprintBand(alert, expected);
  for (const p of footprint) indices.push(periodIndex(p.period));

  // Vertical extent: counts start from zero so that changes are not exaggerated.
  const ys = [...values, ...expected].map((p) => p.value).concat(signals.flatMap((s) => [s.value, s.baseline]))
    .concat(footprint.flatMap((p) => [p.low, p.high]));
  let yMin = Math.min(0, ...ys);
  let yMax = Math.max(...ys);
  if (yMax === yMin) yMax = yMin + 1;
  const ticks = niceTicks(yMin, yMax);
  yMin = Math.min(yMin, ticks[0]);
  yMax = Math.max(yMax, ticks[ticks.length - 1]);

  const { width, height, top, right, bottom, left } = CHART;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const x = (index) => left + ((index - xMin) / (xMax - xMin)) * plotW;
  const y = (value) => top + plotH - ((value - yMin) / (yMax - yMin)) * plotH;
  const clampX = (px) => Math.max(left, Math.min(left + plotW, px));

  const titleId = "detail-chart-title";
  const descId = "detail-chart-desc";
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": `${titleId} ${descId}`,
    class: "chart-svg", preserveAspectRatio: "xMidYMid meet",
  }, [
    svg("title", { id: titleId, text: title }),
    svg("desc", { id: descId, text: t("chart.aria", { measure }) }),
  ]);

  // The alert period: from the opening month to the resolution (or the latest month).
  const bandLeft = clampX(x(opened - 0.5));
  const bandRight = clampX(x(bandEnd + 0.5));
  root.append(svg("rect", {
    class: "trigger-band", x: bandLeft.toFixed(1), y: top, width: Math.max(2, bandRight - bandLeft).toFixed(1), height: plotH,
  }, [svg("title", { text: `${t("chart.band")}: ${fmtPeriod(chart.opened_period)} – ${fmtPeriod(indexPeriod(bandEnd))}` })]));

  // Grid and the value axis.
  for (const tick of ticks) {
    root.append(
      svg("line", { class: "grid", x1: left, x2: left + plotW, y1: y(tick).toFixed(1), y2: y(tick).toFixed(1) }),
      svg("text", { class: "axis-label", x: left - 8, y: (y(tick) + 4).toFixed(1), "text-anchor": "end", text: fmtNumber(tick) }),
    );
  }
  root.append(svg("line", { class: "axis", x1: left, x2: left + plotW, y1: top + plotH, y2: top + plotH }));

  // Time axis: the years (or the months, for a short span).
  const span = xMax - xMin;
  for (let index = Math.ceil(xMin); index <= xMax; index += 1) {
    const month = ((index % 12) + 12) % 12;
    const label = span <= 14 ? fmtPeriod(indexPeriod(index), true) : month === 0 ? String(Math.floor(index / 12)) : null;
    const every = span <= 14 && span > 7 ? index % 2 === 0 : true;
    if (!label || !every) continue;
    // A label at the right edge is right-aligned, so it is not cut off.
    const anchor = x(index) > left + plotW - 30 ? "end" : "middle";
    root.append(
      svg("line", { class: "tick", x1: x(index).toFixed(1), x2: x(index).toFixed(1), y1: top + plotH, y2: top + plotH + 5 }),
      svg("text", { class: "axis-label", x: x(index).toFixed(1), y: top + plotH + 20, "text-anchor": anchor, text: label }),
    );
  }

  if (footprint.length) {
    const upper = footprint.map((p) => `${x(periodIndex(p.period)).toFixed(1)},${y(p.high).toFixed(1)}`);
    const lower = footprint.slice().reverse().map((p) => `${x(periodIndex(p.period)).toFixed(1)},${y(p.low).toFixed(1)}`);
    root.append(svg("polygon", { class: "footprint-band", points: [...upper, ...lower].join(" ") }, [
      svg("title", { text: t("chart.footprint") }),
    ]));
  }

  // Lines: the expected level first, the recorded series over it.
  if (expected.length) root.append(svg("path", { class: "expected-line", d: linePath(expected, x, y) }));
  if (values.length) {
    root.append(svg("path", { class: "series-line", d: linePath(values, x, y) }));
    if (values.length <= 3) {
      for (const p of values) root.append(svg("circle", { class: "series-point", cx: x(periodIndex(p.period)).toFixed(1), cy: y(p.value).toFixed(1), r: 4 }));
    }
  }

  // The opening month.
  root.append(svg("line", {
    class: "opened-marker", x1: x(opened).toFixed(1), x2: x(opened).toFixed(1), y1: top, y2: top + plotH,
  }, [svg("title", { text: `${t("chart.openedMarker")}: ${fmtPeriod(chart.opened_period)}` })]));

  // Each signal's baseline (what the detector expected), linked to the value it saw.
  for (const s of signals) {
    const cx = x(periodIndex(s.period)).toFixed(1);
    root.append(
      svg("line", { class: "signal-gap", x1: cx, x2: cx, y1: y(s.baseline).toFixed(1), y2: y(s.value).toFixed(1) }),
      svg("circle", { class: "signal-point", cx, cy: y(s.baseline).toFixed(1), r: 5 }, [
        svg("title", { text: `${codeName("detector", s.detector)}, ${fmtPeriod(s.period)}: ${t("chart.baselineShort")} ${fmtNumber(s.baseline)}, ${t("chart.value")} ${fmtNumber(s.value)}` }),
      ]),
    );
  }

  const legend = h("ul", { className: "legend" }, [
    legendItem("swatch-series", t("chart.series")),
    expected.length ? legendItem("swatch-expected", t("chart.expected")) : null,
    signals.length ? legendItem("swatch-baseline", t("chart.baseline")) : null,
    legendItem("swatch-band", t("chart.band")),
    footprint.length ? legendItem("swatch-footprint", t("chart.footprint")) : null,
    legendItem("swatch-opened", t("chart.openedMarker")),
  ]);

  const parts = [h("p", { className: "chart-title", text: title }), root, legend];
  if (chart.source === "evidence") parts.push(h("p", { className: "note", text: t("chart.evidenceOnly") }));
  parts.push(chartTable(values, expected, signals));
  container.replaceChildren(...parts);
}

/** The story's footprint as chart points: on a figure alert over the expected level, else from 0. */
function footprintBand(alert, expected) {
  const story = alert.story;
  if (!story || !story.footprint || !story.footprint.length) return [];
  const base = new Map(expected.map((p) => [p.period, p.value]));
  const onFigures = alert.kind !== "layoff_notices";
  const out = [];
  for (const m of story.footprint) {
    const level = onFigures ? base.get(m.period) : 0;
    if (level === undefined) continue;
    out.push({ period: m.period, low: level + m.low, high: level + m.high });
  }
  return out;
}

/** An SVG path through the points, broken where months are missing. */
function linePath(points, x, y) {
  const sorted = points.slice().sort((a, b) => periodIndex(a.period) - periodIndex(b.period));
  let d = "";
  let previous = null;
  for (const p of sorted) {
    const index = periodIndex(p.period);
    const command = previous !== null && index - previous === 1 ? "L" : "M";
    d += `${command}${x(index).toFixed(1)},${y(p.value).toFixed(1)} `;
    previous = index;
  }
  return d.trim();
}

function legendItem(swatch, text) {
  return h("li", {}, [h("span", { className: `swatch ${swatch}`, "aria-hidden": "true" }), text]);
}

/** The chart's figures as a table: the text alternative for the drawing. */
function chartTable(values, expected, signals) {
  const rows = new Map();
  const row = (period) => {
    if (!rows.has(period)) rows.set(period, { period, value: null, expected: null, baseline: null });
    return rows.get(period);
  };
  for (const p of values) row(p.period).value = p.value;
  for (const p of expected) row(p.period).expected = p.value;
  for (const s of signals) row(s.period).baseline = s.baseline;
  const ordered = Array.from(rows.values()).sort((a, b) => periodIndex(b.period) - periodIndex(a.period));
  const cell = (v) => h("td", { className: "num", text: v === null ? "–" : fmtNumber(v) });
  return h("details", { className: "chart-table", dataset: { key: "chart-table" } }, [
    h("summary", { text: t("chart.table") }),
    h("div", { className: "table-wrap" }, [
      h("table", { className: "data compact" }, [
        h("thead", {}, [h("tr", {}, [
          h("th", { scope: "col", text: t("chart.period") }),
          h("th", { scope: "col", className: "num", text: t("chart.value") }),
          h("th", { scope: "col", className: "num", text: t("chart.expectedShort") }),
          h("th", { scope: "col", className: "num", text: t("chart.baselineShort") }),
        ])]),
        h("tbody", {}, ordered.map((r) => h("tr", {}, [
          h("th", { scope: "row", className: "nowrap", text: fmtPeriod(r.period) }),
          cell(r.value), cell(r.expected), cell(r.baseline),
        ]))),
      ]),
    ]),
  ]);
}

// -- case work ------------------------------------------------------------------------------------

function buildCaseOptions() {
  fillSelect($("case-assessment"), ASSESSMENTS.map((a) => option(a, codeName("assessment", a))));
  fillSelect($("case-close-reason"), CLOSURE_REASONS.map((r) => option(r, codeName("closureReason", r))));
}

function clearCaseForms() {
  for (const id of ["case-assignee", "case-note", "case-action-title", "case-action-url", "case-close-note"]) {
    $(id).value = "";
    $(id).removeAttribute("aria-invalid");
  }
  $("case-assessment").selectedIndex = 0;
  setError($("case-error"), "");
  $("case-status").textContent = "";
}

function renderCase() {
  const data = state.detail && state.detail.data;
  if (!data) return;
  const c = data.case;
  const stateBox = $("case-state");
  stateBox.dataset.acknowledged = String(Boolean(c.acknowledged_by));
  stateBox.dataset.assessment = c.assessment || "";
  $("case-acknowledged-by").textContent = c.acknowledged_by
    ? t("case.ackBy", { name: c.acknowledged_by, time: fmtDateTime(c.acknowledged_at) })
    : t("case.notAck");
  $("case-assignee-value").textContent = c.assignee || t("case.noAssignee");
  $("case-assessment-value").textContent = c.assessment ? codeName("assessment", c.assessment) : t("case.noAssessment");
  // Only an alert held open (the new normal, a structural change) can be closed, and only once.
  $("case-close-form").hidden = !data.closable || Boolean(c.closed);
  $("case-closed-by").hidden = !c.closed;
  $("case-closed-by").textContent = c.closed
    ? t("case.closedBy", { name: c.closed_by, time: fmtDateTime(c.closed_at), reason: codeName("closureReason", c.closed) })
    : "";
  $("case-notes").replaceChildren(...(c.notes.length ? c.notes.map((n) => h("li", {}, [
    h("p", { className: "note-text", text: n.text }),
    h("p", { className: "byline", text: t("case.byAt", { actor: n.actor, time: fmtDateTime(n.at) }) }),
  ])) : [h("li", { className: "empty", text: t("case.noNotes") })]));
  $("case-actions").replaceChildren(...(c.actions.length ? c.actions.map((a) => h("li", {}, [
    safeLink(a.url, a.title),
    h("span", { className: "byline", text: ` – ${t("case.byAt", { actor: a.actor, time: fmtDateTime(a.at) })}` }),
  ])) : [h("li", { className: "empty", text: t("case.noActions") })]));
  const log = c.log.slice().reverse().map((event) => h("li", {}, [
    h("time", { datetime: event.at, text: fmtDateTime(event.at) }), " ",
    h("strong", { text: event.actor }), " ", logText(event.action),
  ]));
  $("case-log").replaceChildren(...(log.length ? log : [h("li", { className: "empty", text: t("case.noLog") })]));
  // The first acknowledgement stands; a second one would only add to the log.
  $("case-ack").disabled = Boolean(c.acknowledged_by);
  // Show a new assessment in the select, but do not undo a choice the user is making.
  if (c.assessment && c.assessment !== state.detail.shownAssessment) $("case-assessment").value = c.assessment;
  state.detail.shownAssessment = c.assessment;
}

/** A link for http(s) addresses only (never javascript: and the like); otherwise text. */
function safeLink(url, text) {
  if (url) {
    try {
      const parsed = new URL(url);
      if (parsed.protocol === "http:" || parsed.protocol === "https:") {
        return h("a", { href: parsed.href, rel: "noopener noreferrer", target: "_blank", text });
      }
    } catch (err) {
      // Not a URL: shown as text below.
    }
  }
  return h("span", { text });
}

function logText(action) {
  const type = action.type;
  switch (type) {
    case "acknowledged": return t("case.log.acknowledged");
    case "assigned": return t("case.log.assigned", { assignee: action.assignee });
    case "note": return t("case.log.note", { text: action.text.length > 80 ? `${action.text.slice(0, 80)}…` : action.text });
    case "marked": return t("case.log.marked", { assessment: codeName("assessment", action.assessment) });
    case "action_linked": return t("case.log.action_linked", { title: action.title });
    case "closed": return t("case.log.closed", { reason: codeName("closureReason", action.reason) });
    default: return t("case.log.unknown", { type });
  }
}

async function postCase(action, button, onSaved) {
  const detail = state.detail;
  if (!detail) return;
  const { id } = detail;
  const session = state.session;
  setError($("case-error"), "");
  $("case-status").textContent = "";
  button.disabled = true;
  try {
    const caseData = await api(`/api/alerts/${encodeURIComponent(id)}/case`, { method: "POST", body: action });
    if (session !== state.session || !state.detail || state.detail.id !== id) return;
    if (state.detail.data) state.detail.data.case = caseData;
    if (onSaved) onSaved();
    $("case-status").textContent = t("case.saved");
  } catch (err) {
    if (session === state.session && err.status !== 401) setError($("case-error"), describeError(err));
  } finally {
    button.disabled = false;
    renderCase();
  }
}

/** Refuse an empty text here; everything else is the server's to judge (422). */
function requireText(input) {
  const text = input.value.trim();
  if (!text) {
    setError($("case-error"), t("case.emptyText"));
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return null;
  }
  input.removeAttribute("aria-invalid");
  return text;
}

function bindCaseForms() {
  $("case-ack").addEventListener("click", () => postCase({ type: "acknowledged" }, $("case-ack")));
  $("case-assign-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const assignee = requireText($("case-assignee"));
    if (assignee) postCase({ type: "assigned", assignee }, $("case-assign"), () => { $("case-assignee").value = ""; });
  });
  $("case-note-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = requireText($("case-note"));
    if (text) postCase({ type: "note", text }, $("case-add-note"), () => { $("case-note").value = ""; });
  });
  $("case-mark-form").addEventListener("submit", (event) => {
    event.preventDefault();
    postCase({ type: "marked", assessment: $("case-assessment").value }, $("case-mark"));
  });
  $("case-close-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const note = $("case-close-note").value.trim();
    const action = { type: "closed", reason: $("case-close-reason").value };
    if (note) action.note = note;
    postCase(action, $("case-close"), () => { $("case-close-note").value = ""; loadDetail(); });
  });
  $("case-link-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const title = requireText($("case-action-title"));
    if (!title) return;
    const url = $("case-action-url").value.trim();
    const action = url ? { type: "action_linked", title, url } : { type: "action_linked", title };
    postCase(action, $("case-link"), () => {
      $("case-action-title").value = "";
      $("case-action-url").value = "";
    });
  });
}

// -- subscriptions --------------------------------------------------------------------------------

const subscriptionsRefresh = coalesced(loadSubscriptions);

async function loadSubscriptions() {
  if (!state.me) return;
  const session = state.session;
  try {
    const subscriptions = await api("/api/subscriptions");
    if (session !== state.session) return;
    state.subscriptions = subscriptions;
    renderSubscriptions();
  } catch (err) {
    if (session === state.session && err.status !== 401) setError($("sub-error"), describeError(err));
  }
}

function mayManage(subscription) {
  return state.permissions.has("manage_subscriptions")
    && (subscription.owner === state.me.organisation || state.permissions.has("manage_others_subscriptions"));
}

function renderSubscriptions() {
  const list = $("subs-list");
  const subscriptions = state.subscriptions || [];
  keepingFocus(list, () => {
    list.replaceChildren(...subscriptions.map(subscriptionItem));
  });
  $("subs-empty").hidden = subscriptions.length > 0;
}

function subscriptionItem(sub) {
  const delivery = sub.delivery.type === "webhook"
    ? t("subs.delivery.webhook", { url: sub.delivery.url })
    : t("subs.delivery.kafka");
  const facts = [
    ["subs.owner", sub.owner],
    ["subs.scope", t(`subs.scope.${sub.scope}`)],
    ["subs.filters", filtersSummary(sub.filters)],
    ["subs.delivery", delivery],
  ];
  const buttons = [];
  if (mayManage(sub)) {
    const edit = h("button", {
      type: "button", className: "secondary sub-edit", "aria-label": t("subs.editLabel", { id: sub.id }),
      dataset: { focusKey: `edit:${sub.id}` }, text: t("subs.edit"),
    });
    edit.addEventListener("click", () => editSubscription(sub));
    const remove = h("button", {
      type: "button", className: "danger sub-remove", "aria-label": t("subs.removeLabel", { id: sub.id }),
      dataset: { focusKey: `remove:${sub.id}` }, text: t("subs.remove"),
    });
    remove.addEventListener("click", () => removeSubscription(sub.id, remove));
    buttons.push(edit, remove);
  }
  return h("li", { dataset: { subscriptionId: sub.id } }, [
    h("div", { className: "sub-head" }, [
      h("strong", { className: "sub-id", text: sub.id }),
      h("span", { className: "byline", text: t("subs.created", { date: fmtDate(sub.created), revision: sub.revision }) }),
    ]),
    h("dl", { className: "facts compact" }, facts.flatMap(([key, value]) => [h("dt", { text: t(key) }), h("dd", { text: value })])),
    buttons.length ? h("div", { className: "buttons" }, buttons) : null,
  ]);
}

function filtersSummary(filters) {
  const parts = [];
  const list = (values) => values.join(", ");
  if (filters.areas && filters.areas.length) {
    parts.push(t("subs.filter.areas", { list: list(filters.areas.map((code) => `${areaName(code)} (${code})`)) }));
  }
  if (filters.sectors && filters.sectors.length) parts.push(t("subs.filter.sectors", { list: list(filters.sectors) }));
  if (filters.occupations && filters.occupations.length) parts.push(t("subs.filter.occupations", { list: list(filters.occupations) }));
  if (filters.kinds && filters.kinds.length) parts.push(t("subs.filter.kinds", { list: list(filters.kinds.map((k) => codeName("kind", k))) }));
  if (filters.polarity) parts.push(t("subs.filter.polarity", { value: codeName("polarity", filters.polarity) }));
  if (filters.min_severity && filters.min_severity !== "watch") {
    parts.push(t("subs.filter.minSeverity", { value: codeName("severity", filters.min_severity) }));
  }
  return parts.length ? parts.join("; ") : t("subs.filter.none");
}

function buildSubscriptionOptions() {
  fillSelect($("sub-kinds"), kinds().map((k) => option(k, codeName("kind", k))));
  fillSelect($("sub-polarity"), [
    option("", t("f.polarity.all")),
    ...POLARITIES.map((p) => option(p, `${POLARITY_SYMBOL[p]} ${codeName("polarity", p)}`)),
  ]);
  fillSelect($("sub-min-severity"), SEVERITIES.map((s) => option(s, codeName("severity", s))));
  $("sub-owner-hint").textContent = t("sub.owner.hint", { org: state.me.organisation });
}

function splitCodes(text, upper) {
  return text.split(/[\s,;]+/).map((part) => (upper ? part.toUpperCase() : part)).filter(Boolean);
}

const SUB_FIELDS = {
  subscription_id: "sub-id", areas: "sub-areas", sectors: "sub-sectors", occupations: "sub-occupations",
  kinds: "sub-kinds", polarity: "sub-polarity", min_severity: "sub-min-severity", owner: "sub-owner",
  delivery: "sub-webhook", url: "sub-webhook", scope: "sub-national",
};

function markSubFields(names) {
  const bad = new Set(names);
  for (const [name, id] of Object.entries(SUB_FIELDS)) {
    if (bad.has(name)) $(id).setAttribute("aria-invalid", "true");
    else if (!Object.entries(SUB_FIELDS).some(([other, same]) => same === id && bad.has(other))) $(id).removeAttribute("aria-invalid");
  }
}

async function onSubscriptionSubmit(event) {
  event.preventDefault();
  setError($("sub-error"), "");
  $("subs-status").textContent = "";
  const id = $("sub-id").value.trim();
  if (!SUBSCRIPTION_ID.test(id)) {
    markSubFields(["subscription_id"]);
    setError($("sub-error"), t("sub.id.invalid"));
    $("sub-id").focus();
    return;
  }
  markSubFields([]);
  const webhook = $("sub-webhook").value.trim();
  const body = {
    scope: isNational() && $("sub-national").checked ? "national" : "own",
    filters: {
      areas: splitCodes($("sub-areas").value, true),
      sectors: splitCodes($("sub-sectors").value, true),
      occupations: splitCodes($("sub-occupations").value, false),
      kinds: Array.from($("sub-kinds").selectedOptions, (o) => o.value),
      polarity: $("sub-polarity").value || null,
      min_severity: $("sub-min-severity").value || "watch",
    },
    delivery: webhook ? { type: "webhook", url: webhook } : { type: "kafka" },
  };
  const owner = $("sub-owner").value.trim();
  if (owner && !$("sub-owner-field").hidden) body.owner = owner;
  const session = state.session;
  $("sub-save").disabled = true;
  try {
    const saved = await api(`/api/subscriptions/${encodeURIComponent(id)}`, { method: "PUT", body });
    if (session !== state.session) return;
    $("sub-form").reset();
    $("subs-status").textContent = t("subs.saved", { id: saved.id });
    subscriptionsRefresh.request(true);
  } catch (err) {
    if (session !== state.session || err.status === 401) return;
    markSubFields(invalidFields(err.detail));
    setError($("sub-error"), describeError(err));
  } finally {
    $("sub-save").disabled = false;
  }
}

function editSubscription(sub) {
  $("sub-id").value = sub.id;
  $("sub-areas").value = (sub.filters.areas || []).join(", ");
  $("sub-sectors").value = (sub.filters.sectors || []).join(", ");
  $("sub-occupations").value = (sub.filters.occupations || []).join(", ");
  const chosen = new Set(sub.filters.kinds || []);
  for (const o of $("sub-kinds").options) o.selected = chosen.has(o.value);
  $("sub-polarity").value = sub.filters.polarity || "";
  $("sub-min-severity").value = sub.filters.min_severity || "watch";
  $("sub-national").checked = sub.scope === "national";
  // Keep another organisation's subscription theirs when an admin replaces it.
  $("sub-owner").value = sub.owner !== state.me.organisation ? sub.owner : "";
  $("sub-webhook").value = sub.delivery.type === "webhook" ? sub.delivery.url : "";
  setError($("sub-error"), "");
  markSubFields([]);
  $("sub-id").focus();
}

async function removeSubscription(id, button) {
  if (!window.confirm(t("subs.confirmRemove", { id }))) return;
  const session = state.session;
  setError($("sub-error"), "");
  $("subs-status").textContent = "";
  button.disabled = true;
  try {
    await api(`/api/subscriptions/${encodeURIComponent(id)}`, { method: "DELETE" });
    if (session !== state.session) return;
    $("subs-status").textContent = t("subs.removed", { id });
    // Show the removal at once; the stream's "subscriptions" message confirms it.
    state.subscriptions = (state.subscriptions || []).filter((s) => s.id !== id);
    renderSubscriptions();
    $("subs-heading").setAttribute("tabindex", "-1");
    $("subs-heading").focus();
    subscriptionsRefresh.request(true);
  } catch (err) {
    if (session !== state.session || err.status === 401) return;
    button.disabled = false;
    setError($("sub-error"), describeError(err));
  }
}

// -- the live stream ------------------------------------------------------------------------------

function setLive(mode) {
  state.liveMode = mode;
  renderLive();
}

function renderLive() {
  const mode = state.liveMode || "off";
  const indicator = $("live-indicator");
  indicator.dataset.live = String(mode === "live");
  indicator.dataset.state = mode;
  const key = { live: "live.on", connecting: "live.connecting", reconnecting: "live.reconnecting" }[mode];
  setText($("live-text"), key ? t(key) : "");
  indicator.hidden = mode === "off";
}

function stopStream() {
  const stream = state.stream;
  state.stream = null;
  if (!stream) return;
  stream.stopped = true;
  clearTimeout(stream.retry);
  clearInterval(stream.watchdog);
  stream.controller.abort();
}

/** Open the stream (fetch, since EventSource cannot send the token) and keep it open. */
function connectStream(backoff = BACKOFF_MIN_MS, connectedBefore = false) {
  stopStream();
  const stream = {
    controller: new AbortController(), stopped: false, retry: null, watchdog: null,
    lastHeard: Date.now(), silent: false, backoff, connectedBefore,
  };
  state.stream = stream;
  setLive(connectedBefore ? "reconnecting" : "connecting");
  // A connection that goes quiet (a proxy dropping it silently) is replaced.
  stream.watchdog = setInterval(() => {
    if (Date.now() - stream.lastHeard > STREAM_SILENCE_MS) {
      stream.silent = true;
      stream.controller.abort();
    }
  }, 5000);
  readStream(stream).then(() => reconnect(stream), () => reconnect(stream));
}

function reconnect(stream) {
  clearInterval(stream.watchdog);
  if (stream.stopped || state.stream !== stream) return;
  setLive("reconnecting");
  const delay = stream.backoff;
  stream.retry = setTimeout(() => {
    if (state.stream === stream && !stream.stopped) {
      connectStream(Math.min(stream.backoff * 2, BACKOFF_MAX_MS), true);
    }
  }, delay);
}

async function readStream(stream) {
  const response = await fetch("/api/stream", {
    headers: { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" },
    cache: "no-store",
    signal: stream.controller.signal,
  });
  if (response.status === 401) {
    stream.stopped = true;
    signOut("signin.expired");
    return;
  }
  if (!response.ok || !response.body) throw new Error(`stream: HTTP ${response.status}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const parser = sseParser((event, data) => onStreamMessage(stream, event, data));
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    stream.lastHeard = Date.now();
    parser.push(decoder.decode(value, { stream: true }));
  }
  parser.push(decoder.decode());
}

/** A parser for the text/event-stream format: fields per line, a blank line ends a message. */
function sseParser(dispatch) {
  let buffer = "";
  let event = "";
  let data = [];
  function line(text) {
    if (text === "") {
      if (data.length) dispatch(event || "message", data.join("\n"));
      event = "";
      data = [];
      return;
    }
    if (text.startsWith(":")) return; // a comment: the server's keep-alive ping
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return {
    push(chunk) {
      buffer += chunk;
      // A trailing "\r" may be the first half of "\r\n": wait for the next chunk.
      const complete = buffer.endsWith("\r") ? buffer.length - 1 : buffer.length;
      const lines = buffer.slice(0, complete).split(/\r\n|\r|\n/);
      buffer = lines.pop() + buffer.slice(complete);
      lines.forEach(line);
    },
  };
}

function onStreamMessage(stream, event, raw) {
  if (state.stream !== stream) return;
  let message = {};
  try {
    message = JSON.parse(raw);
  } catch (err) {
    message = {};
  }
  const openId = state.detail ? state.detail.id : null;
  switch (event) {
    case "hello":
      setLive("live");
      stream.backoff = BACKOFF_MIN_MS;
      if (stream.connectedBefore) catchUp();
      break;
    case "alert":
      if (typeof message.emitted === "number") state.waitingEmitted.push(message.emitted);
      if (message.change === "opened") {
        state.newlyOpened.set(message.id, Date.now());
        state.freshUntil.set(message.id, Date.now() + FRESH_MS);
      }
      pictureRefresh.request();
      if (message.id === openId) detailRefresh.request();
      break;
    case "case":
      pictureRefresh.request();
      if (message.alert_id === openId) caseRefresh.request();
      break;
    case "status":
      pictureRefresh.request();
      break;
    case "subscriptions":
      subscriptionsRefresh.request();
      break;
    case "resync":
      catchUp();
      break;
    default:
      break;
  }
}

/** After a gap in the stream, fetch everything the page shows again. */
function catchUp() {
  pictureRefresh.request();
  subscriptionsRefresh.request();
  if (state.detail) detailRefresh.request();
}

// -- notice intake --------------------------------------------------------------------------------

/** A key for one chosen file: a retry of the same file (lost answer) is not published twice. */
function newIntakeKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function onIntakeSubmit(event) {
  event.preventDefault();
  const file = $("intake-file").files[0];
  setError($("intake-error"), "");
  setText($("intake-status"), "");
  if (!file) {
    setError($("intake-error"), t("intake.noFile"));
    $("intake-file").focus();
    return;
  }
  if (!state.intakeKey) state.intakeKey = newIntakeKey();
  const session = state.session;
  const params = new URLSearchParams({ filename: file.name, lang: state.language });
  $("intake-submit").disabled = true;
  setText($("intake-status"), t("intake.sending"));
  let response;
  try {
    response = await fetch(`/api/notices/imports?${params}`, {
      method: "POST", cache: "no-store", body: file,
      headers: {
        Authorization: `Bearer ${state.token}`, Accept: "application/json",
        "Content-Type": file.type || "application/octet-stream", "Idempotency-Key": state.intakeKey,
      },
    });
  } catch (err) {
    response = null;
  } finally {
    $("intake-submit").disabled = false;
  }
  if (session !== state.session) return;
  setText($("intake-status"), "");
  if (!response) {
    setError($("intake-error"), t("intake.network"));
    return;
  }
  if (response.status === 401) {
    signOut("signin.expired");
    return;
  }
  let body = null;
  try {
    body = await response.json();
  } catch (err) {
    body = null;
  }
  if (!response.ok) {
    const detail = body ? detailText(body.detail) : "";
    const key = { 403: "intake.forbidden", 409: "intake.conflict", 413: "intake.tooLarge" }[response.status];
    setError($("intake-error"), key ? t(key) : t("intake.failed", { detail: detail || response.status }));
    return;
  }
  state.intake = body;
  renderIntake();
  announce(t(body.repeated ? "intake.repeated" : "intake.done", { accepted: body.accepted, rejected: body.rejected }));
  metrics.lastIntake = body;
}

/** The last upload's counts and rejected rows, reasons in the page's language. */
function renderIntake() {
  const result = state.intake;
  $("intake-result").hidden = !result;
  if (!result) return;
  const number = (n) => n.toLocaleString(LOCALES[state.language]);
  setText($("intake-rows"), number(result.rows));
  setText($("intake-accepted"), number(result.accepted));
  setText($("intake-rejected"), number(result.rejected));
  setText($("intake-blank"), number(result.blank));
  setText($("intake-where"), result.published_to);
  const ignored = $("intake-ignored");
  ignored.hidden = !result.ignored_columns.length;
  setText(ignored, result.ignored_columns.length ? t("intake.ignored", { columns: result.ignored_columns.join(", ") }) : "");
  $("intake-rejected-block").hidden = result.rejected === 0;
  const rows = result.rejected_rows.map((row) => h("tr", { dataset: { line: String(row.line) } }, [
    h("td", { className: "num", text: String(row.line) }),
    h("td", { text: row.notice_id || "–" }),
    h("td", { text: row.reasons.map((reason) => reason[state.language]).join("; ") }),
  ]));
  $("intake-table").tBodies[0].replaceChildren(...rows);
}

async function downloadRejected() {
  const result = state.intake;
  if (!result) return;
  let response;
  try {
    response = await fetch(`/api/notices/imports/${encodeURIComponent(result.id)}/rejected.csv`, {
      headers: { Authorization: `Bearer ${state.token}` }, cache: "no-store",
    });
  } catch (err) {
    response = null;
  }
  if (!response || !response.ok) {
    setError($("intake-error"), t("intake.downloadFailed"));
    return;
  }
  const blob = await response.blob();
  metrics.lastRejectedCsv = await blob.text();
  const stem = result.filename.replace(/\.[^.]+$/, "");
  const link = h("a", { href: URL.createObjectURL(blob), download: `${stem}-rejected.csv` });
  document.body.append(link);
  link.click();
  link.remove();
}

// -- wiring ---------------------------------------------------------------------------------------

function bindEvents() {
  $("signin").addEventListener("submit", onSignInSubmit);
  $("signout").addEventListener("click", () => signOut());
  for (const language of LANGUAGES) $(`lang-${language}`).addEventListener("click", () => setLanguage(language));

  const filters = $("filters");
  filters.addEventListener("submit", (event) => { event.preventDefault(); onFilterChange(); });
  filters.addEventListener("reset", () => setTimeout(onFilterChange, 0));
  for (const id of ["f-area", "f-kind", "f-polarity", "f-severity", "f-status"]) $(id).addEventListener("change", onFilterChange);
  for (const id of ["f-sector", "f-occupation"]) {
    $(id).addEventListener("input", onFilterTyping);
    $(id).addEventListener("change", onFilterChange);
  }

  $("detail-close").addEventListener("click", () => closeDetail());
  $("map-up").addEventListener("click", () => chooseArea(parentArea($("f-area").value)));
  for (const layer of ["regions", "ely"]) {
    $(`map-layer-${layer}`).addEventListener("click", () => { state.mapLayer = layer; drawMap(); });
  }
  $("export-csv").addEventListener("click", () => exportView("csv"));
  $("export-xlsx").addEventListener("click", () => exportView("xlsx"));
  $("export-pdf").addEventListener("click", exportPdf);
  $("print-brief").addEventListener("click", printBriefing);
  window.addEventListener("beforeprint", buildBriefing);
  $("views-save").addEventListener("click", saveView);
  $("views-list").addEventListener("change", applySavedView);
  const narrow = window.matchMedia("(max-width: 640px)");
  if (narrow.matches) $("filters-fold").open = false;
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && state.detail && !event.defaultPrevented) {
      event.preventDefault();
      closeDetail();
    }
  });
  window.addEventListener("popstate", onPopState);

  bindCaseForms();
  $("intake-form").addEventListener("submit", onIntakeSubmit);
  $("intake-file").addEventListener("change", () => {
    state.intakeKey = null;  // another file: another upload
    setError($("intake-error"), "");
  });
  $("intake-download").addEventListener("click", downloadRejected);
  $("sub-form").addEventListener("submit", onSubscriptionSubmit);
  $("sub-form").addEventListener("reset", () => {
    setError($("sub-error"), "");
    markSubFields([]);
  });
}

/** The detail panel starts where the header ends on screen (the header scrolls away). */
function trackMasthead() {
  const masthead = document.querySelector(".masthead");
  const update = () => {
    const bottom = Math.max(0, Math.round(masthead.getBoundingClientRect().bottom));
    document.documentElement.style.setProperty("--detail-top", `${bottom}px`);
  };
  new ResizeObserver(update).observe(masthead);
  window.addEventListener("scroll", update, { passive: true });
  window.addEventListener("resize", update);
  update();
}

function start() {
  trackMasthead();
  state.language = initialLanguage();
  bindEvents();
  applyLanguage();
  takeTokenFromFragment();
  if (sessionStorage.getItem(TOKEN_KEY)) enterRoom(false);
  else showSignIn();
}

start();
