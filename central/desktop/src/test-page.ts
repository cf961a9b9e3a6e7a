// A minimal page over the softphone module: the desktop's UI is built on the same module. It puts
// createSoftphone on window for browser tests, and shows the phone's state.
import { createSoftphone, type Softphone, type SoftphoneConfig } from './softphone/index.js';

declare global {
  interface Window {
    ccfedSoftphone: { createSoftphone: (config: SoftphoneConfig) => Softphone };
  }
}

window.ccfedSoftphone = {
  createSoftphone(config) {
    const phone = createSoftphone(config);
    const show = () => {
      document.getElementById('aor')!.textContent = config.aor;
      document.getElementById('state')!.textContent = phone.state();
    };
    show();
    setInterval(show, 200);
    phone.onIncoming((call) => {
      document.getElementById('call')!.textContent = `Incoming call from ${call.from}`;
    });
    phone.onEnded((ended) => {
      document.getElementById('call')!.textContent = `Call ended (${ended.cause}, by ${ended.by})`;
    });
    return phone;
  },
};
