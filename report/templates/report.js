// Filters the report's findings, device and timeline tables as one types.
// Optional: without it (or with scripts off) the report reads the same.
document.querySelectorAll("input[data-filter]").forEach(function (box) {
  var scope = document.getElementById(box.getAttribute("data-filter"));
  if (!scope) return;
  box.hidden = false;
  box.addEventListener("input", function () {
    var q = box.value.trim().toLowerCase();
    scope.querySelectorAll("tr[data-row], article.finding").forEach(function (el) {
      el.hidden = q !== "" && el.textContent.toLowerCase().indexOf(q) < 0;
    });
  });
});
