import { defineConfig } from 'vite';

// The agents' and supervisors' desktop (index.html), served by the central API from dist/ under
// /desktop/ at the same origin as /api/v1 (no CORS; the token never leaves the origin), and the
// softphone's bare test page (softphone-test.html) that tests/desktop/softphone.test.ts drives.
// Asset paths are relative, so the bundle works wherever it is mounted.
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2500,
    rollupOptions: {
      input: { desktop: 'index.html', softphone: 'softphone-test.html' },
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
