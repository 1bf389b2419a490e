/** Generates the deterministic fixture models once per run, before any test file. */
import { generateFixtures } from '../../scripts/make-fixtures.js';
import { GENERATED } from '../helpers/paths.js';

export default async function setup(): Promise<void> {
  await generateFixtures(GENERATED);
}
