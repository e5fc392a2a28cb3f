// Opens the playground in headless Chromium with every non-loopback request
// blocked (an air-gapped network), logs in through the demo identity
// provider, checks that the built-in editor takes over, runs a query, sees the
// result, browses the schema and the history, and logs out.
// Usage: node playground.mjs http://127.0.0.1:PORT/playground
import { chromium } from "playwright-core";

const url = process.argv[2];
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-quic", "--disable-component-update", "--disable-sync"],
});
const fail = async (msg) => { console.error(msg); await browser.close(); process.exit(1); };
try {
  const context = await browser.newContext();
  const blocked = [];
  await context.route("**/*", (route) => {
    const host = new URL(route.request().url()).hostname;
    if (host === "127.0.0.1" || host === "localhost") return route.continue();
    blocked.push(route.request().url());
    return route.abort("internetdisconnected");
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(url);
  // Not logged in: the page says how to log in, and queries are refused.
  await page.waitForSelector("#login-hint:not([hidden])", { timeout: 10000 });
  const anonymous = await page.evaluate(async () => (await fetch("/graphql", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"query":"{ me { role } }"}' })).status);
  if (anonymous !== 401) await fail("anonymous query answered " + anonymous);
  // Log in through the demo identity provider (the real OAuth code path).
  await page.click("#login");
  await page.waitForURL(/\/auth\/demo\/authorize/, { timeout: 10000 });
  await page.click('button[value="admin@demo.pagerlens.test"]');
  await page.waitForURL(/\/playground$/, { timeout: 10000 });
  await page.waitForFunction(() => document.querySelector("#who").textContent.includes("admin@demo.pagerlens.test"), null, { timeout: 10000 });
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "pagerlens_session");
  if (!session || !session.httpOnly || session.sameSite !== "Lax") await fail("session cookie: " + JSON.stringify(cookies));
  await page.waitForSelector("#fallback:not([hidden])", { timeout: 15000 });
  if (!blocked.some((u) => u.includes("graphiql"))) await fail("GraphiQL's CDN was never tried");
  const mode = await page.textContent("#mode");
  if (!mode.includes("built-in")) await fail("mode says: " + mode);

  await page.fill("#query", "query Count($n: Int) { services(first: $n) { totalCount edges { node { name } } } }");
  await page.fill("#variables", '{"n": 2}');
  await page.fill("#headers", '{"X-Test": "1"}');
  await page.click("#run");
  await page.waitForFunction(() => document.querySelector("#result").textContent.includes("totalCount"), null, { timeout: 10000 });
  const result = await page.textContent("#result");
  const status = await page.textContent("#status");
  if (!status.includes("HTTP 200")) await fail("status: " + status);
  const parsed = JSON.parse(result);
  if (parsed.data.services.edges.length !== 2) await fail("variables not applied: " + result);

  // Bad JSON in the variables editor gives a clear message and sends nothing.
  await page.fill("#variables", "{oops");
  await page.click("#run");
  if (!(await page.textContent("#status")).includes("Variables")) await fail("bad variables not reported");

  // Schema browser built from introspection.
  await page.waitForSelector("#schema li", { timeout: 10000 });
  await page.fill("#type-search", "Incident");
  await page.click("#schema li >> text=IncidentFilter");
  const detail = await page.textContent("#type-detail");
  if (!detail.includes("serviceIds")) await fail("schema browser: " + detail);

  // History is kept in the browser.
  const history = await page.$$eval("#history li", (els) => els.map((e) => e.textContent));
  if (!history.some((h) => h.includes("services(first: $n)"))) await fail("history: " + JSON.stringify(history));

  // Log out: the session ends and queries are refused again.
  await page.click("#logout");
  await page.waitForSelector("#login-hint:not([hidden])", { timeout: 10000 });
  const after = await page.evaluate(async () => (await fetch("/graphql", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"query":"{ me { role } }"}' })).status);
  if (after !== 401) await fail("after logout a query answered " + after);

  console.log(result);
  await browser.close();
} catch (e) {
  await fail("browser test error: " + (e && e.stack || e));
}
