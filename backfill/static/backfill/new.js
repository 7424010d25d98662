// New backfill form: date presets and the district picker (click to add, type to filter).
"use strict";
(function () {
  const start = document.getElementById("id_start_date");
  const end = document.getElementById("id_end_date");
  document.querySelectorAll(".bf-preset").forEach((button) => {
    button.addEventListener("click", () => {
      start.value = button.dataset.start;
      end.value = button.dataset.end;
    });
  });

  const input = document.getElementById("id_target_districts");
  const picker = document.getElementById("bf-picker");
  if (!input || !picker) return;
  const buttons = Array.from(picker.querySelectorAll("button"));
  const chosen = () => new Set(input.value.split(/[\s,]+/).filter(Boolean).map((v) => v.toUpperCase()));
  const write = (ids) => { input.value = Array.from(ids).join(", "); sync(); };
  function sync() {
    const ids = chosen();
    buttons.forEach((b) => b.classList.toggle("on", ids.has(b.dataset.id)));
  }
  buttons.forEach((b) => b.addEventListener("click", () => {
    const ids = chosen();
    if (ids.has(b.dataset.id)) ids.delete(b.dataset.id); else ids.add(b.dataset.id);
    write(ids);
  }));
  input.addEventListener("input", sync);
  document.getElementById("bf-filter").addEventListener("input", (event) => {
    const term = event.target.value.trim().toUpperCase();
    buttons.forEach((b) => { b.hidden = term && !b.dataset.id.startsWith(term); });
  });
  document.getElementById("bf-all").addEventListener("click", () => write(buttons.filter((b) => !b.hidden).map((b) => b.dataset.id)));
  document.getElementById("bf-none").addEventListener("click", () => write([]));
  sync();
})();
