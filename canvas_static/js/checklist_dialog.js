// The board's "Finish the checklist first" dialog (workspace/board.html): a move (or a win) refused by
// required checklist items lists them to tick, then "Retry move" runs the refused call again.
(function () {
  "use strict";
  const S = window.Stagecraft;
  const $ = (id) => document.getElementById(id);
  let current = null;   // {opp, retry, onDone, onClose}

  function renderItems(opp, items) {
    $("checklist-dialog-items").replaceChildren(...items.map((item) => {
      const box = S.el("input", { type: "checkbox", "data-item-id": item.id });
      const note = S.el("span", { class: "field-error", hidden: true });
      box.addEventListener("change", () => S.ws.act(box, note,
        () => S.api("PUT", `/opportunities/${opp.id}/checklist/${item.id}`, { done: box.checked }),
        { onError: (err) => { box.checked = !box.checked; S.ws.showError(note, err); } }));
      return S.el("li", {}, S.el("label", { class: "check-item" }, box, S.el("span", {}, item.text),
        S.el("span", { class: "req-mark" }, "Required")), note);
    }));
  }

  // open({opp, fromName, targetName, items, retry, onDone, onClose}): `retry()` repeats the refused call;
  // `onDone` hears a successful retry, `onClose` every closing (after a retry or a cancel).
  function open(options) {
    const dialog = $("checklist-dialog");
    current = options;
    $("checklist-dialog-lead").textContent = `“${options.opp.title}” can't leave ${options.fromName} for ${options.targetName} until these required items are done:`;
    renderItems(options.opp, options.items);
    S.ws.showError($("checklist-dialog-error"), "");
    $("checklist-retry").disabled = false;
    if (!dialog.open) dialog.showModal();
    const first = $("checklist-dialog-items").querySelector("input");
    if (first) first.focus();
  }

  function wire() {
    const dialog = $("checklist-dialog");
    if (!dialog) return;
    const retry = $("checklist-retry");
    retry.addEventListener("click", () => {
      if (!current) return;
      const { opp, onDone } = current;
      S.ws.act(retry, $("checklist-dialog-error"), async () => {
        await current.retry();
        if (onDone) onDone();
        dialog.close();
      }, { onError: (err) => {
        if (err.code !== "checklist_incomplete") { S.ws.showError($("checklist-dialog-error"), err); return; }
        const items = (err.details && err.details.items) || [];
        renderItems(opp, items);
        S.ws.showError($("checklist-dialog-error"), `Still to do: ${items.map((i) => i.text).join("; ")}`);
      } });
    });
    $("checklist-cancel").addEventListener("click", () => dialog.close());
    // The options are kept until the dialog has closed, so `onClose` can put focus back on the card.
    dialog.addEventListener("close", () => {
      const closing = current;
      current = null;
      if (closing && closing.onClose) closing.onClose();
    });
  }

  wire();
  S.checklistDialog = { open };
})();
