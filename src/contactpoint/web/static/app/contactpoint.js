// Progressive enhancement only: every page works without this file.
import { initAll } from '/assets/govuk-frontend.min.js'

initAll()

// Warn before the idle time-out (the server ends the session after it whatever happens here).
const body = document.body
const idleSeconds = Number(body.dataset.idleSeconds || 0)
const warnSeconds = Number(body.dataset.warnSeconds || 300)
const warning = document.querySelector('[data-module="app-idle-warning"]')

function describe (secondsLeft) {
  if (secondsLeft > 90) return `${Math.ceil(secondsLeft / 60)} minutes`
  if (secondsLeft > 60) return '1 minute'
  return `${Math.max(0, Math.ceil(secondsLeft))} seconds`
}

if (idleSeconds > 0 && warning) {
  const started = Date.now()
  const countdown = warning.querySelector('.app-idle-countdown')
  const tick = () => {
    const left = idleSeconds - (Date.now() - started) / 1000
    if (left <= 0) {
      window.location.assign('/login?timed_out=true')
      return
    }
    if (left <= warnSeconds) {
      countdown.textContent = describe(left)
      if (warning.hidden) {
        warning.hidden = false
        warning.focus()
      }
    }
  }
  tick()
  window.setInterval(tick, 1000)
}
