import { defineConfig } from 'vite';

// The softphone module and its test page, bundled for the browser into dist/.
export default defineConfig({
  base: './',
  build: { outDir: 'dist', emptyOutDir: true },
});
