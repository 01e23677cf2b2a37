#!/usr/bin/env node
// neocog-run: the launcher of data-parallel jobs (see lib/distributed/launcher.ts). The
// compiled code lives in dist/, which `npm run build:ts` (or installing the package) makes.
import '../dist/distributed/launcher_cli.js';
