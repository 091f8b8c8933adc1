// esbuild entry of the browser leg: phoenix 1.7 (npm alias phoenix17).
export * from 'phoenix17';
