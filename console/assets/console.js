// The console's own script (no build step): live refresh over Server-Sent Events, relative times,
// keyboard shortcuts, and a sound plus a desktop notification for a new high-risk alert.
(() => {
  'use strict';
  const lang = document.documentElement.lang || 'zh-CN';
  const changed = () => window.htmx && window.htmx.trigger(document.body, 'fanzha:changed');

  // --- live: any change the server tells of refreshes the parts of the page that listen for it ---
  const liveUrl = document.body.dataset.live;
  if (liveUrl && 'EventSource' in window) {
    const banner = document.getElementById('live-banner');
    let pending = null;
    let lost = false;
    let lastId = document.body.dataset.liveAfter || null;
    const refreshSoon = () => {
      clearTimeout(pending);
      pending = setTimeout(changed, 150);
    };
    const connect = () => {
      // A new stream resumes where the last one stopped (the browser sends Last-Event-ID only on its own retries).
      const source = new EventSource(lastId ? `${liveUrl}?after=${encodeURIComponent(lastId)}` : liveUrl);
      const remember = (event) => {
        if (event.lastEventId) lastId = event.lastEventId;
      };
      source.addEventListener('change', (event) => {
        remember(event);
        refreshSoon();
      });
      source.addEventListener('tick', remember);
      source.addEventListener('ready', (event) => {
        remember(event);
        // Back after a loss: catch up on whatever happened meanwhile.
        if (lost) refreshSoon();
        lost = false;
        if (banner) banner.hidden = true;
      });
      source.addEventListener('error', () => {
        lost = true;
        if (banner) banner.hidden = false;
        // A server that answered while shutting down (503) ends the browser's own retries: keep trying.
        if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
      });
    };
    connect();
  }

  // --- times: "5 分钟后" / "5 分钟前", kept fresh every second ---
  const relative = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });
  const tick = () => {
    const now = Date.now();
    for (const el of document.querySelectorAll('time[data-relative]')) {
      const at = Date.parse(el.getAttribute('datetime') || '');
      if (Number.isNaN(at)) continue;
      const seconds = Math.round((at - now) / 1000);
      const abs = Math.abs(seconds);
      const [value, unit] =
        abs < 60
          ? [seconds, 'second']
          : abs < 3600
            ? [Math.round(seconds / 60), 'minute']
            : [Math.round(seconds / 3600), 'hour'];
      let label = el.querySelector('.relative');
      if (!label) {
        label = document.createElement('span');
        label.className = 'relative';
        el.append(' (', label, ')');
      }
      label.textContent = relative.format(value, unit);
      el.classList.toggle('overdue', el.dataset.relative === 'countdown' && seconds < 0);
    }
  };
  tick();
  setInterval(tick, 1000);

  // --- keys: t take next, r reached, n not reached, j/k move, ? help ---
  document.addEventListener('keydown', (event) => {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target instanceof HTMLElement && target.closest('input, select, textarea, [contenteditable]')) return;
    const click = (selector) => {
      const el = document.querySelector(selector);
      if (el) {
        event.preventDefault();
        el.click();
      }
    };
    switch (event.key) {
      case 't':
        return click('[data-key="t"]');
      case 'n':
        return click('[data-key="n"]');
      case 'r': {
        const el = document.querySelector('[data-key-focus="r"]');
        if (el) {
          event.preventDefault();
          el.focus();
        }
        return;
      }
      case 'j':
      case 'k': {
        const items = [...document.querySelectorAll('[data-list] > li')];
        if (items.length === 0) return;
        event.preventDefault();
        const at = items.indexOf(document.activeElement);
        const next = event.key === 'j' ? Math.min(at + 1, items.length - 1) : Math.max(at - 1, 0);
        items[at < 0 ? 0 : next].focus();
        return;
      }
      case '?': {
        const help = document.getElementById('keys-help');
        if (help && !help.open) {
          event.preventDefault();
          help.showModal();
        }
        return;
      }
    }
  });

  // A notice's "Print" button prints the page (the print style sheet keeps the console's parts off it).
  document.addEventListener('click', (event) => {
    if (event.target instanceof Element && event.target.closest('[data-print]')) window.print();
  });

  // The language switch takes effect as soon as a language is picked (its button stays for keyboards).
  document.addEventListener('change', (event) => {
    const select = event.target;
    if (select instanceof HTMLSelectElement && select.hasAttribute('data-autosubmit')) select.form.requestSubmit();
  });

  // --- something new that must not be missed — a high-risk alert in the queue, an escalation on the
  // board — plays a sound and shows a desktop notification (asked for once). A region marked
  // data-sound-for="<selector>" sounds when an element matching it, by its data-sound-id, appears. ---
  const regions = [...document.querySelectorAll('[data-sound-for]')];
  const beep = () => {
    try {
      const audio = new AudioContext();
      const tone = audio.createOscillator();
      tone.frequency.value = 880;
      tone.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.3);
    } catch {
      // no audio device: the notification and the page still show it
    }
  };
  for (const region of regions) {
    const present = () =>
      new Set([...region.querySelectorAll(region.dataset.soundFor)].map((el) => el.dataset.soundId).filter(Boolean));
    let seen = present();
    new MutationObserver(() => {
      const now = present();
      const fresh = [...now].filter((id) => !seen.has(id));
      seen = now;
      if (fresh.length === 0) return;
      beep();
      if ('Notification' in window && Notification.permission === 'granted')
        new Notification(region.dataset.soundTitle || 'Fanzha', { body: fresh.join(', ') });
    }).observe(region, { childList: true, subtree: true });
  }
  if (regions.length > 0)
    document.addEventListener(
      'click',
      () => {
        if (
          'Notification' in window &&
          Notification.permission === 'default' &&
          !localStorage.getItem('fz-notify-asked')
        ) {
          localStorage.setItem('fz-notify-asked', '1');
          void Notification.requestPermission();
        }
      },
      { once: true },
    );

  // --- a live refresh never wipes what a person is typing: a region with a focused or edited field
  // waits, and catches up once the person has left it ---
  // A drawer (an opened <details>) the person is in counts too: a refresh would close it under their hand.
  const editing = (region) =>
    [...region.querySelectorAll('input:not([type=hidden]), textarea, select')].some(
      (field) =>
        field === document.activeElement ||
        (field.type === 'checkbox' || field.type === 'radio'
          ? field.checked !== field.defaultChecked
          : 'defaultValue' in field && field.value !== field.defaultValue),
    ) || [...region.querySelectorAll('details[open]')].some((drawer) => drawer.contains(document.activeElement));
  // A decision's answer (done, or refused) stays in place for a while: the live refresh its own
  // change causes a moment later must not wipe it before the person has read it.
  const KEEP_NOTICE_MS = 15_000;
  let waiting = false;
  const liveRegion = (element) =>
    element instanceof HTMLElement && (element.getAttribute('hx-trigger') || '').includes('fanzha:changed');
  document.addEventListener('htmx:after:swap', (event) => {
    const region = event.detail.ctx?.target;
    if (!(region instanceof HTMLElement)) return;
    if (region.__keptNotice && !region.querySelector('.notice')) region.prepend(region.__keptNotice);
    region.__keptNotice = null;
    for (const notice of region.querySelectorAll('.notice:not([data-shown-at])'))
      notice.dataset.shownAt = String(Date.now());
  });
  document.addEventListener('htmx:before:swap', (event) => {
    const { ctx } = event.detail;
    const region = ctx?.target;
    if (!liveRegion(region) || String(ctx.request?.method).toUpperCase() !== 'GET') return;
    // The person started typing or opened a drawer while this refresh was on its way: it waits too.
    if (editing(region)) {
      event.preventDefault();
      waiting = true;
      return;
    }
    const notice = region.querySelector('.notice[data-shown-at]');
    if (notice && Date.now() - Number(notice.dataset.shownAt) < KEEP_NOTICE_MS) region.__keptNotice = notice;
  });

  document.addEventListener('htmx:config:request', (event) => {
    const region = event.target;
    if (!(region instanceof HTMLElement) || !(region.getAttribute('hx-trigger') || '').includes('fanzha:changed'))
      return;
    if (!editing(region)) return;
    event.preventDefault();
    waiting = true;
  });
  document.addEventListener('focusout', () =>
    setTimeout(() => {
      if (!waiting) return;
      const busy = [...document.querySelectorAll('[hx-trigger*="fanzha:changed"]')].some(editing);
      if (busy) return;
      waiting = false;
      changed();
    }, 0),
  );
})();
