// Types of generate-native-types.mjs for the tests that import it.
export function parameter(text: string, structs?: Readonly<Record<string, string>>): { name: string; type: string };
export function generate(declarations: Readonly<Record<string, string>>, structs: Readonly<Record<string, string>>): string;
