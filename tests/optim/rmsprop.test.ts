// RMSprop against torch.optim: four steps on fixed gradients (tests/fixtures/optim.json).
import { optimizerFixtureTests } from '../helpers/optim_cases.js';

optimizerFixtureTests(['RMSprop']);
