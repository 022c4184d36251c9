// allauth's WebAuthn script reports a failed key ceremony (cancelled, timed out, no key) as an
// "allauth.error" event and otherwise only logs it: say so on the page instead.
document.addEventListener('allauth.error', function (event) {
  const message = document.getElementById('webauthn-error')
  if (message) {
    event.preventDefault()
    message.hidden = false
  }
})
