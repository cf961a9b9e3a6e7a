// The Debian-packaged tools the media plane shells out to (scripts/install.sh installs them).
export const SOX_BIN = '/usr/bin/sox';
export const ESPEAK_BIN = '/usr/bin/espeak-ng';
export const TSHARK_BIN = '/usr/bin/tshark';
