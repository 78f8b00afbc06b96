"""The driver's app (/app/...): SMS sign-in, binding, applying, the e-licence and its 亮码, messages, 我的 and who
checked my licence. Every page wears the driver's chrome (`templates/holder/_base.html`); none links to a staff page."""
