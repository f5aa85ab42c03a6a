export function renderPage(_file: string): string[] {
  return [];
}
