// The license fields shared by registration and recovery: a compact offers only its types.

/** Limit the license-type choices to the chosen compact's. */
export function linkLicenseTypeToCompact(form) {
  const compact = form.elements.namedItem("compact");
  const licenseType = form.elements.namedItem("licenseType");
  const update = () => {
    for (const option of licenseType.options) {
      if (!option.dataset.compact) continue;
      option.hidden = option.disabled = Boolean(compact.value) && option.dataset.compact !== compact.value;
    }
    if (licenseType.selectedOptions[0]?.disabled) licenseType.value = "";
  };
  compact.addEventListener("change", update);
  update();
}
