// icalpub progressive enhancement. The pages work without it; with it:
// 1. events that are over move under "Past events" (the server does not know the time, so
//    the same data always gives the same HTML);
// 2. each date also shows the visitor's local time when their zone differs from the event's;
// 3. feed address fields get a "Copy" button;
// 4. empty search fields are left out of the URL.
"use strict";

function splitPast(now) {
  var upcoming = document.getElementById("upcoming");
  var past = document.getElementById("past");
  if (!upcoming || !past) return;
  var target = past.querySelector(".months");
  upcoming.querySelectorAll(".month").forEach(function (month) {
    var over = Array.prototype.filter.call(month.querySelectorAll("li.event"), function (li) {
      return new Date(li.dataset.end).getTime() <= now;
    });
    if (!over.length) return;
    var copy = month.cloneNode(false);
    var heading = month.querySelector("h3").cloneNode(true);
    heading.id = heading.id + "-past";
    copy.setAttribute("aria-labelledby", heading.id);
    var list = document.createElement("ol");
    list.className = "events";
    over.forEach(function (li) { list.appendChild(li); });
    copy.appendChild(heading);
    copy.appendChild(list);
    target.appendChild(copy);
    if (!month.querySelector("li.event")) month.remove();
  });
  if (target.children.length) past.hidden = false;
  if (!upcoming.querySelector("li.event")) {
    var p = document.createElement("p");
    p.className = "empty";
    p.textContent = "No upcoming events.";
    upcoming.appendChild(p);
  }
}

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
  splitPast(Date.now());
  cleanSearchForms();
  localTimes();
  copyButtons();
});
