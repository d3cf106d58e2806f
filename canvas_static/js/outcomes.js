// Won and lost on the rep pages (board and record): the "Mark as lost" dialog and the close/reopen calls.
// The dialog is workspace/_lost_dialog.html; a reason is one of the pipeline's list or the rep's own words.
(function () {
  "use strict";
  const S = window.Stagecraft;
  const $ = (id) => document.getElementById(id);
  const OTHER = "__other__";

  const close = (id, outcome, extra) => S.api("POST", `/opportunities/${id}/close`, { outcome, ...(extra || {}) });
  const reopen = (id) => S.api("POST", `/opportunities/${id}/reopen`);

  // askLost(opp, reasons, {returnFocus}) -> Promise<boolean>: true once the deal is lost, false when cancelled.
  function askLost(opp, reasons, options) {
    const dialog = $("lost-dialog");
    const select = $("lost-reason"), other = $("lost-other"), otherRow = $("lost-other-row"), note = $("lost-note");
    const error = $("lost-error"), confirm = $("lost-confirm");
    $("lost-dialog-lead").textContent = `“${opp.title}” (${S.money(opp.value)}) will leave the forecast. You can reopen it later.`;
    select.replaceChildren(S.el("option", { value: "" }, "Choose a reason…"),
      ...(reasons || []).map((r) => S.el("option", { value: r }, r)), S.el("option", { value: OTHER }, "Another reason…"));
    other.value = ""; note.value = ""; otherRow.hidden = true;
    S.ws.showError(error, "");
    select.onchange = () => { otherRow.hidden = select.value !== OTHER; if (!otherRow.hidden) other.focus(); };
    return new Promise((resolve) => {
      let done = false;
      const finish = (result) => {
        if (done) return;
        done = true;
        $("lost-form").onsubmit = null;
        $("lost-cancel").onclick = null;
        dialog.onclose = null;
        if (dialog.open) dialog.close();
        const back = options && options.returnFocus && options.returnFocus();
        if (back) back.focus();
        resolve(result);
      };
      $("lost-cancel").onclick = () => finish(false);
      dialog.onclose = () => finish(false);
      $("lost-form").onsubmit = (e) => {
        e.preventDefault();
        const reason = select.value === OTHER ? other.value.trim() : select.value;
        if (!reason) {
          S.ws.showError(error, select.value === OTHER ? "Type the reason, or pick one from the list." : "Choose why the deal was lost.");
          (select.value === OTHER ? other : select).focus();
          return;
        }
        S.ws.act([confirm, select], error, () => close(opp.id, "lost", { reason, note: note.value }),
          { after: () => finish(true) });
      };
      dialog.showModal();
      select.focus();
    });
  }

  S.outcomes = { close, reopen, askLost };
})();
