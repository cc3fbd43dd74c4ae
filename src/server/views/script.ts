/** The path the pages load their one script from. */
export const SCRIPT_PATH = '/assets/passport.js'

/**
 * Progressive enhancement for the pages, served as {@link SCRIPT_PATH}:
 * - `input[data-usercode]`: formats a device user code as typed (upper case, letters only,
 *   `XXXX-XXXX`), keeping the caret in place;
 * - `button[data-copy=ID]`: shown only with JavaScript; copies the text of element ID and says so
 *   in the page's live region.
 */
export const PASSPORT_JS = `'use strict';
(function () {
  function formatCode(value) {
    var letters = value.toUpperCase().replace(/[^A-Z]/g, '').slice(0, 8);
    return letters.length > 4 ? letters.slice(0, 4) + '-' + letters.slice(4) : letters;
  }
  document.querySelectorAll('input[data-usercode]').forEach(function (input) {
    input.setAttribute('maxlength', '9');
    input.addEventListener('input', function () {
      var caret = input.selectionStart === null ? input.value.length : input.selectionStart;
      var before = formatCode(input.value.slice(0, caret)).replace('-', '').length;
      var formatted = formatCode(input.value);
      if (formatted === input.value) return;
      input.value = formatted;
      var position = before > 4 || (before === 4 && formatted.length > 4) ? before + 1 : before;
      input.setSelectionRange(position, position);
    });
  });

  var live = document.getElementById('live');
  function say(text) {
    if (!live) return;
    live.textContent = '';
    setTimeout(function () { live.textContent = text; }, 50);
  }
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    var target = document.getElementById(button.getAttribute('data-copy'));
    if (!target) return;
    var label = button.querySelector('.label') || button;
    var idle = label.textContent;
    button.hidden = false;
    button.addEventListener('click', function () {
      var text = target.textContent.trim();
      var done = function () {
        label.textContent = 'Copied';
        say('Copied ' + text);
        setTimeout(function () { label.textContent = idle; }, 1500);
      };
      var select = function () {
        var range = document.createRange();
        range.selectNodeContents(target);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        say('Selected; press Ctrl+C to copy.');
      };
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, select);
      else select();
    });
  });
})();
`
