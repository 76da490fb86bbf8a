/** Small pieces of the sentences the app says, shared by the window, the CLI and the services. */

/** "1 image", "2,100 images". */
export function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}
