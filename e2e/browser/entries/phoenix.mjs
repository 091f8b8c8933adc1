// esbuild entry of the browser leg: phoenix 1.8 (Socket, LongPoll, ...).
export * from 'phoenix';
