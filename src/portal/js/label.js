/* Draw a debug screenshot's label at the bottom of the page, on top of everything
 * (A.label), or remove it again (A.remove). */
const old = document.getElementById('__emodal_label');
if (old) old.remove();
if (A.remove) return true;
const d = document.createElement('div');
d.id = '__emodal_label';
d.textContent = A.label;
d.style.cssText = 'position:fixed;left:0;right:0;bottom:0;z-index:2147483647;background:rgba(0,0,0,.78);' +
  'color:#fff;font:13px monospace;padding:6px 10px;white-space:nowrap;overflow:hidden';
document.body.appendChild(d);
return true;
