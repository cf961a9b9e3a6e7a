import { defineConfig } from 'vite';

// The agent and supervisor desktop, served by the central API from dist/ under /desktop/, at
// the same origin as /api/v1 (no CORS; the token never leaves the origin).
export default defineConfig({
  base: '/desktop/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2500,
    rollupOptions: {
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
