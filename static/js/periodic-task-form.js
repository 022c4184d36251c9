// The admin's periodic task form (django-celery-beat): says the chosen crontab schedule in words
// under the field, as the package's own inline script does, without being inline.
(() => {
  const readable = JSON.parse(document.getElementById("readable-crontabs").textContent);
  const originalHelp = JSON.parse(document.getElementById("crontab-help").textContent);
  const field = document.querySelector(".field-crontab");
  const translation = document.querySelector(".field-crontab_translation");
  if (translation) {
    translation.style.display = "none";
  }
  if (!field) {
    return;
  }
  field.addEventListener("change", () => {
    const help = field.querySelector(".help");
    const select = document.getElementById("id_crontab");
    if (!help || !select) {
      return;
    }
    help.replaceChildren(
      document.createTextNode(originalHelp),
      document.createElement("br"),
      document.createTextNode(`Translation: ${readable[select.value] ?? ""}`),
    );
  });
})();
