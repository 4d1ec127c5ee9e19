/** Builds the web app (web/src) into web/dist, which the node serves at `/` (src/server/web.ts). */
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Hashed file names under assets/: the node serves them as immutable.
    assetsDir: 'assets',
    reportCompressedSize: false,
  },
  // During `vite dev`, the API is the dev node's.
  server: { proxy: { '/v1': process.env.SINEW_URL ?? 'http://127.0.0.1:8545' } },
})
