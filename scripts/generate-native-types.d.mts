// Types of generate-native-types.mjs for the tests that import it.
export function parameter(text: string): { name: string; type: string };
export function generate(declarations: Record<string, string>): string;
