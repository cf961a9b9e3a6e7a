import { defineConfig } from 'vite';

// The console is served by the central API from dist/, at the same origin as /api/v1.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2500,
    rollupOptions: {
      // MUI and react-admin mark their modules 'use client' for server components; a bundle for
      // the browser drops that directive, as intended.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
