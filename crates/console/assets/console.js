// Gatehouse console: small enhancements; every page works without them.
"use strict";

document.addEventListener("click", async (event) => {
  // "Copy" buttons copy the text of the element their data-copy attribute names.
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copied";
  } catch {
    // No clipboard (plain http, or refused): select the text for the person to copy.
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    button.textContent = "Selected: press Ctrl+C";
  }
  const status = document.getElementById(button.dataset.copy + "-status");
  if (status) status.textContent = button.textContent;
});

document.addEventListener("click", (event) => {
  // The limits editor's "Add a limit" button reveals the next hidden empty row.
  const button = event.target.closest("button[data-add-row]");
  if (!button) return;
  const table = document.getElementById(button.dataset.addRow);
  const row = table && table.querySelector("tr[hidden]");
  if (row) {
    row.hidden = false;
    const first = row.querySelector("input, select");
    if (first) first.focus();
  }
  if (!table || !table.querySelector("tr[hidden]")) button.disabled = true;
});
