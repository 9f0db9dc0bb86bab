// icalpub progressive enhancement. The pages work without it; with it:
// 1. each date also shows the visitor's local time when their zone differs from the event's;
// 2. feed address fields get a "Copy" button;
// 3. empty search fields are left out of the URL.
"use strict";

function localTimes() {
  var visitorZone;
  try { visitorZone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  document.querySelectorAll(".local[data-start]").forEach(function (el) {
    if (el.dataset.allDay || el.dataset.zone === visitorZone) return;
    var start = new Date(el.dataset.start), end = new Date(el.dataset.end);
    if (isNaN(start) || isNaN(end)) return;
    var day = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
    var time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", timeZoneName: "short" });
    var sameDay = day.format(start) === day.format(end);
    el.textContent = "Your time: " + day.format(start) + ", " +
      time.format(start).replace(/\s*\S+$/, "") + "–" +
      (sameDay ? "" : day.format(end) + ", ") + time.format(end);
  });
}

function copyButtons() {
  if (!navigator.clipboard) return;
  document.querySelectorAll(".copy-field").forEach(function (input) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy the feed address");
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(function () {
        button.textContent = "Copied";
      }, function () { input.select(); });
    });
    input.insertAdjacentElement("afterend", button);
  });
}

// Leave empty fields out of the search URL, so it stays short and shareable.
function cleanSearchForms() {
  document.querySelectorAll("form.search").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("input[name]").forEach(function (input) {
        if ((input.type === "search" || input.type === "date") && !input.value) input.disabled = true;
      });
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  cleanSearchForms();
  localTimes();
  copyButtons();
});
