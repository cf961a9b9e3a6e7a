import { defineConfig } from 'vite';

// The console is served by the central API from dist/, at the same origin as /api/v1.
export default defineConfig({
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2500 },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
