/* What a failure bundle records of the page: each strategy of each profile key the failed
 * step used, with what it matches now, and the page's HTML without form secrets. */
const strategies = Object.entries(A.sel).map(([key, list]) => ({
  key,
  strategies: list.map(s => {
    let found = [];
    try { found = [...document.querySelectorAll(s)]; } catch (e) { return {selector: s, error: String(e)}; }
    return {selector: s, matches: found.length, visible: found.filter(vis).length,
      first: found[0] ? found[0].outerHTML.slice(0, 300) : null};
  })
}));
let html = '';
if (document.documentElement) {
  const copy = document.documentElement.cloneNode(true);
  copy.querySelectorAll('input[type=password], input[name*=pass i]').forEach(i => i.removeAttribute('value'));
  copy.querySelectorAll('textarea').forEach(t => { t.textContent = ''; });
  copy.querySelectorAll('script').forEach(s => { s.textContent = ''; });
  html = '<!DOCTYPE html>\n' + copy.outerHTML;
}
return {url: location.href, title: document.title, strategies, html};
