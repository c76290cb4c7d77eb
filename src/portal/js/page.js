/* Small page questions, by A.op: the URL, a liveness answer, marking the current document
 * as old (before a navigation), so a wait can tell the next document from it. */
switch (A.op) {
case 'url': return location.href;
case 'probe': return 1;
case 'mark': window.__emodalOld = true; return true;
default: throw new Error('unknown page operation ' + A.op);
}
