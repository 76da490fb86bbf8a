#!/usr/bin/env node
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const cli = join(__dirname, '..', 'out', 'main', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write('GAN Augment is not built yet. Run "npm run build" in ' + join(__dirname, '..') + ' first.\n');
  process.exit(1);
}
process.env.GAN_AUGMENT_CLI_MAIN = '1';
require(cli);
